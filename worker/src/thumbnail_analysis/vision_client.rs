//! The OpenAI-compatible `POST {OPENAI_BASE_URL}/chat/completions` call of one analysis: the
//! request exactly as prompts/README.md specifies (system + user message with the thumbnail as a
//! data URL, strict `json_schema` response format), and the classification of the answer.
//! Retries are decided by the caller ([`super::analysis_run`]).

use std::time::Duration;

use base64::Engine as _;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::prompts::PromptTemplate;
use super::validate::AnswerMessage;
use crate::retry_after::parse_retry_after;

/// `temperature` of every analysis request (low: the answer should depend on the image only).
const TEMPERATURE: f64 = 0.1;
/// `max_completion_tokens` of every analysis request.
const MAX_COMPLETION_TOKENS: u32 = 1200;

/// Where and how to call the vision API.
#[derive(Debug, Clone)]
pub struct VisionSettings {
    /// e.g. `https://api.openai.com/v1` (no trailing `/chat/completions`).
    pub base_url: String,
    pub api_key: SecretString,
    pub model: String,
}

/// Why one call produced no answer to validate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VisionCallError {
    #[error("HTTP 429 (rate limited): {message}")]
    RateLimited {
        retry_after: Option<Duration>,
        message: String,
    },
    #[error("HTTP {status}: {message}")]
    ServerError { status: u16, message: String },
    #[error("network error: {0}")]
    Network(String),
    /// A 4xx other than 429: our request or key is wrong; retrying cannot help.
    #[error("HTTP {status}: {message}")]
    Rejected { status: u16, message: String },
    #[error("HTTP {status} with an unreadable body: {message}")]
    Unreadable { status: u16, message: String },
}

impl VisionCallError {
    /// What tenants may read (stored in the item's error message): the status and its reason,
    /// never the upstream body or the network error's text, which can name the key's last
    /// characters or an internal host. The full error goes to the operator's log.
    pub fn summary(&self) -> String {
        match self {
            VisionCallError::RateLimited { .. } => answered(429),
            VisionCallError::ServerError { status, .. }
            | VisionCallError::Rejected { status, .. } => answered(*status),
            VisionCallError::Unreadable { status, .. } => {
                format!("{} with an unreadable body", answered(*status))
            }
            VisionCallError::Network(_) => "the vision API could not be reached".to_owned(),
        }
    }
}

/// `the vision API answered HTTP 401 Unauthorized`.
fn answered(status: u16) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|status| status.canonical_reason())
        .map(|reason| format!(" {reason}"))
        .unwrap_or_default();
    format!("the vision API answered HTTP {status}{reason}")
}

/// Token usage of one answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct TokenUsage {
    #[serde(default)]
    pub prompt_tokens: i64,
    #[serde(default)]
    pub completion_tokens: i64,
    #[serde(default)]
    pub total_tokens: i64,
}

impl TokenUsage {
    pub fn add(&mut self, other: TokenUsage) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.total_tokens += other.total_tokens;
    }
}

/// A `200` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisionAnswer {
    pub message: AnswerMessage,
    pub usage: TokenUsage,
}

#[derive(Debug, Deserialize)]
struct CompletionBody {
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<TokenUsage>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    message: ChoiceMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

/// The HTTP client of the vision API.
#[derive(Debug, Clone)]
pub struct VisionClient {
    http: reqwest::Client,
    settings: VisionSettings,
    endpoint: String,
}

impl VisionClient {
    pub fn new(settings: VisionSettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        let endpoint = format!(
            "{}/chat/completions",
            settings.base_url.trim_end_matches('/')
        );
        Ok(VisionClient {
            http,
            settings,
            endpoint,
        })
    }

    pub fn model(&self) -> &str {
        &self.settings.model
    }

    /// One call, given at most `timeout`.
    pub async fn call(
        &self,
        body: &Value,
        timeout: Duration,
    ) -> Result<VisionAnswer, VisionCallError> {
        let response = self
            .http
            .post(&self.endpoint)
            .bearer_auth(self.settings.api_key.expose_secret())
            .json(body)
            .timeout(timeout)
            .send()
            .await
            .map_err(|error| VisionCallError::Network(error_chain(&error)))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_retry_after);
        let text = response
            .text()
            .await
            .map_err(|error| VisionCallError::Network(error_chain(&error)))?;
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(VisionCallError::RateLimited {
                retry_after,
                message: error_message(&text),
            });
        }
        if status.is_server_error() {
            return Err(VisionCallError::ServerError {
                status: status.as_u16(),
                message: error_message(&text),
            });
        }
        if !status.is_success() {
            return Err(VisionCallError::Rejected {
                status: status.as_u16(),
                message: error_message(&text),
            });
        }
        let unreadable = |message: String| VisionCallError::Unreadable {
            status: status.as_u16(),
            message,
        };
        let body: CompletionBody =
            serde_json::from_str(&text).map_err(|error| unreadable(error.to_string()))?;
        let choice = body
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| unreadable("no choices".to_owned()))?;
        Ok(VisionAnswer {
            message: AnswerMessage {
                content: choice.message.content,
                refusal: choice.message.refusal,
                finish_reason: choice.finish_reason.unwrap_or_default(),
            },
            usage: body.usage.unwrap_or_default(),
        })
    }
}

/// The request body per prompts/README.md "Rendering".
pub fn request_body(
    model: &str,
    template: &PromptTemplate,
    request_schema: &Value,
    media_type: &str,
    image: &[u8],
) -> Value {
    let data_url = format!(
        "data:{media_type};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(image)
    );
    json!({
        "model": model,
        "temperature": TEMPERATURE,
        "max_completion_tokens": MAX_COMPLETION_TOKENS,
        "messages": [
            {"role": "system", "content": template.system_text},
            {"role": "user", "content": [
                {"type": "text", "text": template.user_text},
                {"type": "image_url", "image_url": {"url": data_url, "detail": "high"}}
            ]}
        ],
        "response_format": {"type": "json_schema", "json_schema": {
            "name": "thumbnail_analysis", "strict": true, "schema": request_schema
        }}
    })
}

/// The media type of the image: the stored content type when it is an image type the API
/// accepts, else sniffed from the bytes; `None` when it is none of JPEG, PNG, GIF, WebP.
pub fn image_media_type(content_type: &str, bytes: &[u8]) -> Option<&'static str> {
    let declared = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let from_header = match declared.as_str() {
        "image/jpeg" | "image/jpg" => Some("image/jpeg"),
        "image/png" => Some("image/png"),
        "image/gif" => Some("image/gif"),
        "image/webp" => Some("image/webp"),
        _ => None,
    };
    from_header.or(if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG") {
        Some("image/png")
    } else if bytes.starts_with(b"GIF8") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    })
}

/// OpenAI's `error.message`, else the start of the body.
fn error_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|value| value["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(200).collect())
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_come_from_the_header_or_the_bytes() {
        assert_eq!(image_media_type("image/jpeg; q=1", b""), Some("image/jpeg"));
        assert_eq!(
            image_media_type("application/octet-stream", b"\x89PNG\r\n"),
            Some("image/png")
        );
        assert_eq!(
            image_media_type("", b"RIFF\0\0\0\0WEBPVP8 "),
            Some("image/webp")
        );
        assert_eq!(image_media_type("text/html", b"<html>"), None);
    }

    #[test]
    fn summaries_name_the_status_and_nothing_from_the_body() {
        let rejected = VisionCallError::Rejected {
            status: 401,
            message: "Incorrect API key provided: sk-***wxyz".to_owned(),
        };
        assert_eq!(
            rejected.summary(),
            "the vision API answered HTTP 401 Unauthorized"
        );
        let network = VisionCallError::Network("proxy.internal:3128 refused".to_owned());
        assert_eq!(network.summary(), "the vision API could not be reached");
        let odd = VisionCallError::Unreadable {
            status: 599,
            message: "x".to_owned(),
        };
        assert_eq!(
            odd.summary(),
            "the vision API answered HTTP 599 with an unreadable body"
        );
    }

    #[test]
    fn openai_error_bodies_give_their_message() {
        assert_eq!(
            error_message(r#"{"error":{"message":"Rate limit reached","type":"requests"}}"#),
            "Rate limit reached"
        );
        assert_eq!(error_message("upstream down"), "upstream down");
    }
}
