//! Acceptance of a vision answer: the message content must be one JSON object that the full JSON
//! Schema validator accepts against `schema.json`, and every enum value must be one of the
//! requested language's template values (prompts/README.md "schema.json design"). Nothing is
//! repaired, clamped, translated or invented.

use serde_json::Value;

use super::prompts::{PromptSet, PromptTemplate};

/// Why an answer is not an acceptable analysis (retried once, then the analysis fails).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAnswer {
    #[error("the model refused: {0}")]
    Refusal(String),
    #[error("the answer has no content (finish_reason {0})")]
    Empty(String),
    #[error("the answer was cut off at the token limit (finish_reason length)")]
    Truncated,
    #[error("the answer is not JSON: {0}")]
    NotJson(String),
    #[error("the answer violates schema.json: {0}")]
    Schema(String),
    #[error("field {field}: {value} is not a {language} value")]
    WrongLanguage {
        field: String,
        value: String,
        language: &'static str,
    },
}

/// What the model's message held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerMessage {
    pub content: Option<String>,
    pub refusal: Option<String>,
    pub finish_reason: String,
}

/// The validated analysis object, or why it is not acceptable.
pub fn validate_answer(
    prompts: &PromptSet,
    template: &PromptTemplate,
    message: &AnswerMessage,
) -> Result<Value, InvalidAnswer> {
    if let Some(refusal) = message.refusal.as_deref().filter(|text| !text.is_empty()) {
        return Err(InvalidAnswer::Refusal(refusal.to_owned()));
    }
    if message.finish_reason == "length" {
        return Err(InvalidAnswer::Truncated);
    }
    let Some(content) = message.content.as_deref() else {
        return Err(InvalidAnswer::Empty(message.finish_reason.clone()));
    };
    let analysis: Value =
        serde_json::from_str(content).map_err(|error| InvalidAnswer::NotJson(error.to_string()))?;
    validate_analysis(prompts, template, &analysis)?;
    Ok(analysis)
}

/// Checks a parsed analysis against the schema and the template's language.
pub fn validate_analysis(
    prompts: &PromptSet,
    template: &PromptTemplate,
    analysis: &Value,
) -> Result<(), InvalidAnswer> {
    let problems: Vec<String> = prompts
        .validator
        .iter_errors(analysis)
        .take(3)
        .map(|error| {
            let location = error.instance_path().to_string();
            if location.is_empty() {
                error.to_string()
            } else {
                format!("{location}: {error}")
            }
        })
        .collect();
    if !problems.is_empty() {
        return Err(InvalidAnswer::Schema(problems.join("; ")));
    }
    for (field, allowed) in &template.enum_values {
        let value = analysis.get(field).unwrap_or(&Value::Null);
        let value = value.as_str().map(str::to_owned);
        if !allowed.contains(&value) {
            return Err(InvalidAnswer::WrongLanguage {
                field: field.clone(),
                value: value.map_or_else(|| "null".to_owned(), |text| format!("{text:?}")),
                language: template.language.as_str(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::thumbnail_analysis::prompts::{default_prompts_dir, load_prompt_set};

    fn english_answer() -> Value {
        json!({
            "visual_style": "talking_head", "setting": "indoor", "people_count": 1,
            "camera_angle": "close_up", "text_overlay_style": null, "color_scheme": "warm",
            "hook_elements": ["face"], "confidence_score": 0.8,
            "composition_type": "center_focused", "focal_point": "a smiling face",
            "lighting_quality": "natural", "mood_emotion": "calm", "brand_elements": [],
            "production_quality": "amateur", "background_complexity": "minimal",
            "props_objects": ["mug"], "story_stage": "opening_hook",
            "call_to_action_visible": false, "product_prominence": "none",
            "visual_interest_level": "high", "scroll_stopping_power": "strong",
            "target_demographic": "teens", "content_category": "lifestyle",
            "pacing_indicator": "fast_paced", "transition_style": "static"
        })
    }

    fn message(content: &str) -> AnswerMessage {
        AnswerMessage {
            content: Some(content.to_owned()),
            refusal: None,
            finish_reason: "stop".to_owned(),
        }
    }

    #[test]
    fn a_valid_answer_is_accepted_as_is_in_its_language_only() {
        let prompts = load_prompt_set(&default_prompts_dir()).unwrap();
        let answer = english_answer();
        let accepted =
            validate_answer(&prompts, &prompts.english, &message(&answer.to_string())).unwrap();
        assert_eq!(accepted, answer);
        let error = validate_answer(&prompts, &prompts.indonesian, &message(&answer.to_string()))
            .unwrap_err();
        assert!(
            matches!(error, InvalidAnswer::WrongLanguage { language: "id", .. }),
            "{error}"
        );
    }

    proptest::proptest! {
        /// Arbitrary model output never panics the validator, and changing any one field of a
        /// valid answer to an arbitrary string is accepted only if that string is one of the
        /// language's values for an enum field.
        #[test]
        fn arbitrary_content_is_refused_or_accepted_as_is(
            content in ".{0,300}",
            field_index in 0_usize..25,
            replacement in "[a-z_]{0,12}",
        ) {
            let prompts = load_prompt_set(&default_prompts_dir()).unwrap();
            let english = &prompts.english;
            if let Ok(analysis) = validate_answer(&prompts, english, &message(&content)) {
                proptest::prop_assert_eq!(analysis, serde_json::from_str::<Value>(&content).unwrap());
            }
            let mut answer = english_answer();
            let field = answer.as_object().unwrap().keys().nth(field_index).unwrap().clone();
            answer[&field] = json!(replacement.clone());
            let accepted = validate_answer(&prompts, english, &message(&answer.to_string())).is_ok();
            let allowed = english
                .enum_values
                .get(&field)
                .is_some_and(|values| values.contains(&Some(replacement.clone())));
            let free_text = field == "focal_point" && replacement.len() >= 5;
            proptest::prop_assert_eq!(accepted, allowed || free_text);
        }
    }

    #[test]
    fn invalid_answers_are_refused_with_the_reason() {
        let prompts = load_prompt_set(&default_prompts_dir()).unwrap();
        let english = &prompts.english;
        let mut out_of_range = english_answer();
        out_of_range["people_count"] = json!(21);
        let mut extra = english_answer();
        extra["mood"] = json!("calm");
        let mut missing = english_answer();
        missing.as_object_mut().unwrap().remove("focal_point");
        let mut unknown_value = english_answer();
        unknown_value["color_scheme"] = json!("neon_rainbow");
        for answer in [out_of_range, extra, missing, unknown_value] {
            let error = validate_answer(&prompts, english, &message(&answer.to_string()));
            assert!(matches!(error, Err(InvalidAnswer::Schema(_))), "{error:?}");
        }
        let fenced = format!("```json\n{}\n```", english_answer());
        assert!(matches!(
            validate_answer(&prompts, english, &message(&fenced)),
            Err(InvalidAnswer::NotJson(_))
        ));
        let refusal = AnswerMessage {
            content: None,
            refusal: Some("I can't".to_owned()),
            finish_reason: "stop".to_owned(),
        };
        assert!(matches!(
            validate_answer(&prompts, english, &refusal),
            Err(InvalidAnswer::Refusal(_))
        ));
        let truncated = AnswerMessage {
            finish_reason: "length".to_owned(),
            ..message("{\"visual_style\"")
        };
        assert_eq!(
            validate_answer(&prompts, english, &truncated),
            Err(InvalidAnswer::Truncated)
        );
    }
}
