//! Parsing and validation of a `POST /v1/chat/completions` body, the way the real API rejects
//! bad requests, plus what the simulated model needs from it: the image, the prompt language
//! and token counts.

use std::collections::HashSet;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::vocab::{ENGLISH_WORDS, ENUM_FIELDS, INDONESIAN_WORDS, Language};

/// Why a chat-completion request is refused with `400`.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't \
         using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was \
         sent was not valid JSON.)"
    )]
    InvalidJson,
    #[error("Invalid type for body: expected an object.")]
    BodyNotObject,
    #[error("you must provide a model parameter")]
    MissingModel,
    #[error("Missing required parameter: '{0}'.")]
    MissingParameter(String),
    #[error("Invalid type for '{param}': expected {expected}.")]
    InvalidType {
        param: String,
        expected: &'static str,
    },
    #[error("Invalid value for '{param}': {reason}")]
    InvalidValue { param: String, reason: String },
    #[error("Invalid 'messages': empty array. Expected an array with minimum length 1.")]
    EmptyMessages,
    #[error(
        "This simulated vision model needs an image: add a content part \
         {{\"type\":\"image_url\",\"image_url\":{{\"url\":...}}}} to a user message."
    )]
    NoImage,
    #[error("Invalid image URL in '{param}': {reason}")]
    InvalidImageUrl { param: String, reason: &'static str },
    #[error(
        "You uploaded an unsupported image. Please make sure your image has one of the following \
         formats: ['png', 'jpeg', 'gif', 'webp']."
    )]
    UnsupportedImageFormat { param: String },
    #[error(
        "Image URLs are only allowed for messages with role 'user', but this message has role '{role}'."
    )]
    ImageOutsideUserMessage { param: String, role: String },
    #[error(
        "This simulated vision model needs structured output: response_format \
         {{\"type\":\"json_schema\",\"json_schema\":{{\"name\",\"strict\":true,\"schema\":{{...}}}}}}."
    )]
    MissingResponseFormat,
    #[error("Invalid schema for response_format '{name}': {reason}")]
    InvalidSchema { name: String, reason: String },
}

impl RequestError {
    /// The `param` of OpenAI's error body.
    pub fn param(&self) -> Option<String> {
        match self {
            RequestError::InvalidJson
            | RequestError::BodyNotObject
            | RequestError::MissingModel => None,
            RequestError::MissingParameter(param)
            | RequestError::InvalidType { param, .. }
            | RequestError::InvalidValue { param, .. }
            | RequestError::InvalidImageUrl { param, .. }
            | RequestError::UnsupportedImageFormat { param }
            | RequestError::ImageOutsideUserMessage { param, .. } => Some(param.clone()),
            RequestError::EmptyMessages | RequestError::NoImage => Some("messages".to_string()),
            RequestError::MissingResponseFormat | RequestError::InvalidSchema { .. } => {
                Some("response_format".to_string())
            }
        }
    }

    /// The `code` of OpenAI's error body.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            RequestError::MissingParameter(_) => Some("missing_required_parameter"),
            RequestError::InvalidType { .. } => Some("invalid_type"),
            RequestError::InvalidValue { .. } | RequestError::ImageOutsideUserMessage { .. } => {
                Some("invalid_value")
            }
            RequestError::EmptyMessages => Some("empty_array"),
            RequestError::InvalidImageUrl { .. } => Some("invalid_image_url"),
            RequestError::UnsupportedImageFormat { .. } => Some("invalid_image_format"),
            RequestError::InvalidSchema { .. } => Some("invalid_json_schema"),
            RequestError::InvalidJson
            | RequestError::BodyNotObject
            | RequestError::MissingModel
            | RequestError::NoImage
            | RequestError::MissingResponseFormat => None,
        }
    }
}

/// Where the analysed image comes from; the answer is derived from these bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// Decoded bytes of a `data:image/...;base64,...` URL.
    Inline(Vec<u8>),
    /// An `http(s)://` URL (the simulator fetches nothing: the URL string stands for the image).
    Remote(String),
}

impl ImageSource {
    /// The bytes the analysis is derived from.
    pub fn seed_bytes(&self) -> &[u8] {
        match self {
            ImageSource::Inline(bytes) => bytes,
            ImageSource::Remote(url) => url.as_bytes(),
        }
    }
}

/// What the simulated model takes from a valid request.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub model: String,
    /// The first image of the first user message that has one.
    pub image: ImageSource,
    pub language: Language,
    /// Prompt tokens: text, per-message overhead, the response schema and the images.
    pub prompt_tokens: u64,
    /// `max_completion_tokens` (or the older `max_tokens`), when given.
    pub max_completion_tokens: Option<u64>,
}

const IMAGE_FORMATS: [&str; 5] = ["png", "jpeg", "jpg", "gif", "webp"];

/// Parses and validates one request body.
pub fn parse(body: &[u8], require_strict: bool) -> Result<ChatRequest, RequestError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| RequestError::InvalidJson)?;
    let object = value.as_object().ok_or(RequestError::BodyNotObject)?;
    let model = match object.get("model") {
        None | Some(Value::Null) => return Err(RequestError::MissingModel),
        Some(Value::String(model)) if !model.is_empty() => model.clone(),
        Some(_) => return Err(invalid_type("model", "a non-empty string")),
    };
    let messages = match object.get("messages") {
        None | Some(Value::Null) => {
            return Err(RequestError::MissingParameter("messages".to_string()));
        }
        Some(Value::Array(messages)) => messages,
        Some(_) => return Err(invalid_type("messages", "an array of objects")),
    };
    if messages.is_empty() {
        return Err(RequestError::EmptyMessages);
    }
    let mut texts: Vec<&str> = Vec::new();
    let mut images: Vec<(ImageSource, u64)> = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        read_message(index, message, &mut texts, &mut images)?;
    }
    let schema_chars = super::response_format::check_response_format(
        object.get("response_format"),
        require_strict,
    )?;
    let max_completion_tokens = read_max_tokens(object)?;
    let Some((image, _)) = images.first().cloned() else {
        return Err(RequestError::NoImage);
    };
    let text_chars: usize = texts.iter().map(|text| text.chars().count()).sum();
    let image_tokens: u64 = images
        .iter()
        .map(|(_, tiles)| image_cost(&model, *tiles))
        .sum();
    let prompt_tokens = 3
        + 4 * messages.len() as u64
        + (text_chars as u64).div_ceil(4)
        + (schema_chars as u64).div_ceil(4)
        + image_tokens;
    Ok(ChatRequest {
        model,
        image,
        language: detect_language(&texts),
        prompt_tokens,
        max_completion_tokens,
    })
}

pub(super) fn invalid_type(param: &str, expected: &'static str) -> RequestError {
    RequestError::InvalidType {
        param: param.to_string(),
        expected,
    }
}

pub(super) fn invalid_value(param: &str, reason: impl Into<String>) -> RequestError {
    RequestError::InvalidValue {
        param: param.to_string(),
        reason: reason.into(),
    }
}

/// Collects the texts and images of one message (`images` holds each image with its tile count).
fn read_message<'a>(
    index: usize,
    message: &'a Value,
    texts: &mut Vec<&'a str>,
    images: &mut Vec<(ImageSource, u64)>,
) -> Result<(), RequestError> {
    let here = format!("messages.[{index}]");
    let message = message
        .as_object()
        .ok_or_else(|| invalid_type(&here, "an object"))?;
    let role = match message.get("role") {
        Some(Value::String(role)) => role.as_str(),
        Some(_) => return Err(invalid_type(&format!("{here}.role"), "a string")),
        None => return Err(RequestError::MissingParameter(format!("{here}.role"))),
    };
    if !["system", "developer", "user", "assistant", "tool"].contains(&role) {
        return Err(invalid_value(
            &format!("{here}.role"),
            format!("'{role}' is not one of 'system', 'developer', 'user', 'assistant', 'tool'."),
        ));
    }
    let parts = match message.get("content") {
        Some(Value::String(text)) => {
            texts.push(text);
            return Ok(());
        }
        Some(Value::Array(parts)) => parts,
        None | Some(Value::Null) if role == "assistant" => return Ok(()),
        None => return Err(RequestError::MissingParameter(format!("{here}.content"))),
        Some(_) => {
            return Err(invalid_type(
                &format!("{here}.content"),
                "a string or an array of parts",
            ));
        }
    };
    for (part_index, part) in parts.iter().enumerate() {
        let part_here = format!("{here}.content.[{part_index}]");
        let part = part
            .as_object()
            .ok_or_else(|| invalid_type(&part_here, "an object"))?;
        match part.get("type").and_then(Value::as_str) {
            Some("text") => match part.get("text") {
                Some(Value::String(text)) => texts.push(text),
                _ => return Err(RequestError::MissingParameter(format!("{part_here}.text"))),
            },
            Some("image_url") => {
                if role != "user" {
                    return Err(RequestError::ImageOutsideUserMessage {
                        param: part_here,
                        role: role.to_string(),
                    });
                }
                images.push(read_image(&part_here, part)?);
            }
            Some(other) => {
                return Err(invalid_value(
                    &format!("{part_here}.type"),
                    format!("'{other}' is not one of 'text', 'image_url'."),
                ));
            }
            None => return Err(RequestError::MissingParameter(format!("{part_here}.type"))),
        }
    }
    Ok(())
}

/// One `image_url` part: the image and its tile count (1 for `detail: low`).
fn read_image(here: &str, part: &Map<String, Value>) -> Result<(ImageSource, u64), RequestError> {
    let image_url = match part.get("image_url") {
        Some(Value::Object(image_url)) => image_url,
        Some(_) => return Err(invalid_type(&format!("{here}.image_url"), "an object")),
        None => return Err(RequestError::MissingParameter(format!("{here}.image_url"))),
    };
    let param = format!("{here}.image_url.url");
    let Some(url) = image_url.get("url").and_then(Value::as_str) else {
        return Err(RequestError::MissingParameter(param));
    };
    // A 9:16 cover scaled to 768x1365 covers 2x3 tiles of 512 px; `low` is one fixed image.
    let tiles = match image_url.get("detail").and_then(Value::as_str) {
        None | Some("auto" | "high") => 6,
        Some("low") => 0,
        Some(other) => {
            return Err(invalid_value(
                &format!("{here}.image_url.detail"),
                format!("'{other}' is not one of 'low', 'high', 'auto'."),
            ));
        }
    };
    Ok((image_source(&param, url)?, tiles))
}

fn image_source(param: &str, url: &str) -> Result<ImageSource, RequestError> {
    let invalid = |reason| RequestError::InvalidImageUrl {
        param: param.to_string(),
        reason,
    };
    if let Some(rest) = url.strip_prefix("data:") {
        let (header, data) = rest
            .split_once(',')
            .ok_or_else(|| invalid("a data URL needs a comma"))?;
        let media_type = header
            .strip_suffix(";base64")
            .ok_or_else(|| invalid("a data URL must be base64"))?;
        let format = media_type
            .strip_prefix("image/")
            .ok_or_else(|| invalid("a data URL must have an image/* media type"))?;
        if !IMAGE_FORMATS.contains(&format.to_ascii_lowercase().as_str()) {
            return Err(RequestError::UnsupportedImageFormat {
                param: param.to_string(),
            });
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|_| invalid("invalid base64 data"))?;
        if bytes.is_empty() {
            return Err(invalid("the image is empty"));
        }
        return Ok(ImageSource::Inline(bytes));
    }
    let parsed = url::Url::parse(url).map_err(|_| invalid("not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(invalid("expected a data: URL or an http(s) URL"));
    }
    Ok(ImageSource::Remote(url.to_string()))
}

/// Image prompt tokens as OpenAI bills them: `gpt-4o-mini` counts 2833 + 5667 per tile, other
/// vision models 85 + 170 per tile.
fn image_cost(model: &str, tiles: u64) -> u64 {
    if model.contains("mini") {
        2833 + 5667 * tiles
    } else {
        85 + 170 * tiles
    }
}

fn read_max_tokens(object: &Map<String, Value>) -> Result<Option<u64>, RequestError> {
    for name in ["max_completion_tokens", "max_tokens"] {
        match object.get(name) {
            None | Some(Value::Null) => {}
            Some(value) => {
                return match value.as_u64() {
                    Some(limit) if limit >= 1 => Ok(Some(limit)),
                    _ => Err(invalid_value(name, "expected an integer of at least 1.")),
                };
            }
        }
    }
    Ok(None)
}

/// Language of the prompt, from the message texts only (never from `response_format`, whose
/// schema lists both languages' values).
///
/// Each word that is a value of only the Indonesian (or only the English) enum lists scores 3,
/// each common Indonesian (or English) word scores 1; Indonesian wins only with a strictly
/// higher score, so a prompt with no signal is English.
pub fn detect_language(texts: &[&str]) -> Language {
    let english_values: HashSet<&str> = ENUM_FIELDS
        .iter()
        .flat_map(|field| field.english.iter().copied())
        .collect();
    let indonesian_values: HashSet<&str> = ENUM_FIELDS
        .iter()
        .flat_map(|field| field.indonesian.iter().copied())
        .collect();
    let (mut indonesian, mut english) = (0_u64, 0_u64);
    for text in texts {
        let words = text
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|word| !word.is_empty());
        for word in words {
            let lower = word.to_lowercase();
            let word = lower.as_str();
            let (in_indonesian, in_english) = (
                indonesian_values.contains(word),
                english_values.contains(word),
            );
            if in_indonesian && !in_english {
                indonesian += 3;
            } else if in_english && !in_indonesian {
                english += 3;
            }
            if INDONESIAN_WORDS.contains(&word) {
                indonesian += 1;
            }
            if ENGLISH_WORDS.contains(&word) {
                english += 1;
            }
        }
    }
    if indonesian > english {
        Language::Indonesian
    } else {
        Language::English
    }
}
