//! The simulated vision API against the real contract in `prompts/thumbnail_analysis/`: every
//! answer validates against `schema.json`, schema-violation answers do not, and both templates
//! list exactly the schema's 25 fields with values the schema accepts.
//!
//! Only this test reads `prompts/`; the simulator itself knows the values on its own.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic is the failure report"
)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use jsonschema::Validator;
use serde_json::{Value, json};
use tokworks_sim::exchange::{Scheme, SimRequest};
use tokworks_sim::openai::{self, Countdown, OpenAiKnobs};

fn prompt_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../prompts/thumbnail_analysis")
}

fn schema() -> Value {
    let text = std::fs::read_to_string(prompt_dir().join("schema.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn validator() -> Validator {
    jsonschema::validator_for(&schema()).unwrap()
}

fn template(language: &str) -> Value {
    let text = std::fs::read_to_string(prompt_dir().join(format!("{language}.yaml"))).unwrap();
    yaml_serde::from_str(&text).unwrap()
}

fn fields(template: &Value) -> Vec<Value> {
    template["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|section| section["fields"].as_array().unwrap().clone())
        .collect()
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap().trim()
}

/// The rendering described in `prompts/README.md`: (system text, user text).
fn render(template: &Value) -> (String, String) {
    let mut lines = vec![text(&template["instruction"]).to_string()];
    let mut number = 0;
    for section in template["sections"].as_array().unwrap() {
        lines.push(String::new());
        lines.push(format!("{}:", text(&section["title"])));
        for field in section["fields"].as_array().unwrap() {
            number += 1;
            let spec = match field["type"].as_str().unwrap() {
                "enum" => {
                    let mut values: Vec<&str> = field["values"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(text)
                        .collect();
                    if field["nullable"] == true {
                        values.push("null");
                    }
                    format!("[{}]", values.join(" | "))
                }
                "boolean" => "(boolean)".to_string(),
                "array" => format!("(array of string, 0..{})", field["max"]),
                other => format!("({other}, {}..{})", field["min"], field["max"]),
            };
            let (name, description) = (text(&field["name"]), text(&field["description"]));
            lines.push(format!("{number}) {name}: {description} {spec}"));
        }
    }
    lines.push(String::new());
    lines.push(text(&template["response_instruction"]).to_string());
    (text(&template["system_role"]).to_string(), lines.join("\n"))
}

fn data_url(bytes: &[u8], media_type: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    format!("data:{media_type};base64,{encoded}")
}

fn request(template: &Value, image_url: &str) -> SimRequest {
    let (system, user) = render(template);
    let body = json!({
        "model": "gpt-4o-mini",
        "temperature": 0.1,
        "max_completion_tokens": 1200,
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": [
                {"type": "text", "text": user},
                {"type": "image_url", "image_url": {"url": image_url, "detail": "high"}}
            ]}
        ],
        "response_format": {"type": "json_schema", "json_schema": {
            "name": "thumbnail_analysis", "strict": true, "schema": schema()
        }}
    });
    let mut headers = HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_static("Bearer sk-sim"),
    );
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    SimRequest {
        method: Method::POST,
        scheme: Scheme::Http,
        host: "127.0.0.1".to_string(),
        path: "/v1/chat/completions".to_string(),
        query: None,
        headers,
        body: Bytes::from(body.to_string()),
    }
}

fn content(template: &Value, image_url: &str, knobs: &OpenAiKnobs) -> String {
    let response = openai::handle(&request(template, image_url), knobs);
    assert_eq!(response.status, StatusCode::OK, "{:?}", response.body);
    let body: Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A few hundred different images: varied bytes and media types, plus remote URLs.
fn images() -> Vec<String> {
    let media_types = ["image/jpeg", "image/png", "image/webp", "image/gif"];
    let mut images: Vec<String> = (0..240_u32)
        .map(|n| {
            let bytes: Vec<u8> = (0..(16 + n % 97)).map(|i| (i * 31 + n * 7) as u8).collect();
            data_url(&bytes, media_types[n as usize % media_types.len()])
        })
        .collect();
    images.extend((0..60).map(|n| format!("https://p16-sign-va.tiktokcdn.com/obj/cover-{n}.jpeg")));
    images
}

#[test]
fn schema_is_a_strict_mode_draft_2020_12_schema() {
    let schema = schema();
    jsonschema::meta::validate(&schema).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["additionalProperties"], false);
    let properties: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(required.len(), 25);
    let property_set: BTreeSet<&str> = properties.iter().map(|name| name.as_str()).collect();
    assert_eq!(
        property_set,
        required.iter().copied().collect::<BTreeSet<_>>()
    );
    let overlay = &schema["properties"]["text_overlay_style"];
    assert_eq!(overlay["type"], json!(["string", "null"]));
    assert!(overlay["enum"].as_array().unwrap().contains(&Value::Null));
}

#[test]
fn templates_list_exactly_the_schema_fields_with_accepted_values() {
    let schema = schema();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let english = template("en");
    let indonesian = template("id");
    for (language, template) in [("en", &english), ("id", &indonesian)] {
        assert_eq!(template["language"], language);
        assert!(template["version"].as_u64().is_some());
        for key in ["system_role", "instruction", "response_instruction"] {
            assert!(!text(&template[key]).is_empty(), "{language} {key}");
        }
        let sections: Vec<&str> = template["sections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| text(&s["key"]))
            .collect();
        assert_eq!(
            sections,
            ["basic", "composition_production", "content_audience"]
        );
        let names: Vec<String> = fields(template)
            .iter()
            .map(|field| text(&field["name"]).to_string())
            .collect();
        assert_eq!(
            names, required,
            "{language}: same fields, same order as schema.required"
        );
        for field in fields(template) {
            check_field_against_schema(&field, &schema["properties"][text(&field["name"])]);
        }
        let (_, user) = render(template);
        for number in 1..=25 {
            assert_eq!(
                user.matches(&format!("\n{number}) ")).count(),
                1,
                "{language} #{number}"
            );
        }
    }
    // Same structure in both languages, and the schema's enums are exactly the union of both.
    for (en_field, id_field) in fields(&english).iter().zip(fields(&indonesian).iter()) {
        for key in ["name", "type", "min", "max", "nullable"] {
            assert_eq!(en_field[key], id_field[key], "{} {key}", en_field["name"]);
        }
        if en_field["type"] == "enum" {
            let en_values = en_field["values"].as_array().unwrap();
            let id_values = id_field["values"].as_array().unwrap();
            assert_eq!(en_values.len(), id_values.len(), "{}", en_field["name"]);
            let mut union: BTreeSet<String> = en_values
                .iter()
                .chain(id_values)
                .map(|v| text(v).to_string())
                .collect();
            if en_field["nullable"] == true {
                union.insert("null".to_string());
            }
            let property = &schema["properties"][text(&en_field["name"])];
            let in_schema: BTreeSet<String> = property["enum"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap_or("null").to_string())
                .collect();
            assert_eq!(union, in_schema, "{}", en_field["name"]);
        }
    }
}

fn check_field_against_schema(field: &Value, property: &Value) {
    let name = text(&field["name"]);
    let accepts = |value: Value| {
        jsonschema::validator_for(property)
            .unwrap()
            .is_valid(&value)
    };
    let nullable = field["nullable"] == true;
    assert_eq!(accepts(Value::Null), nullable, "{name}: null");
    match field["type"].as_str().unwrap() {
        "enum" => {
            for value in field["values"].as_array().unwrap() {
                assert!(accepts(value.clone()), "{name}: {value}");
            }
            assert!(!accepts(json!("not_a_listed_value")), "{name}");
        }
        "integer" => {
            let (min, max) = (
                field["min"].as_i64().unwrap(),
                field["max"].as_i64().unwrap(),
            );
            assert!(accepts(json!(min)) && accepts(json!(max)), "{name}");
            assert!(
                !accepts(json!(min - 1)) && !accepts(json!(max + 1)),
                "{name}"
            );
            assert!(!accepts(json!(1.5)), "{name}");
        }
        "number" => {
            let (min, max) = (
                field["min"].as_f64().unwrap(),
                field["max"].as_f64().unwrap(),
            );
            assert!(
                accepts(json!(min)) && accepts(json!(max)) && accepts(json!(0.42)),
                "{name}"
            );
            assert!(
                !accepts(json!(min - 0.01)) && !accepts(json!(max + 0.01)),
                "{name}"
            );
        }
        "string" => {
            let (min, max) = (
                field["min"].as_u64().unwrap(),
                field["max"].as_u64().unwrap(),
            );
            let of_length = |n: u64| json!("é".repeat(n as usize));
            assert!(accepts(of_length(min)) && accepts(of_length(max)), "{name}");
            assert!(
                !accepts(of_length(min - 1)) && !accepts(of_length(max + 1)),
                "{name}"
            );
        }
        "array" => {
            let max = field["max"].as_u64().unwrap() as usize;
            assert!(
                accepts(json!(vec!["x"; max])) && accepts(json!([])),
                "{name}"
            );
            assert!(
                !accepts(json!(vec!["x"; max + 1])) && !accepts(json!([1])),
                "{name}"
            );
        }
        "boolean" => assert!(accepts(json!(true)) && !accepts(json!("yes")), "{name}"),
        other => panic!("{name}: unknown type {other}"),
    }
}

#[test]
fn every_simulated_answer_validates_and_speaks_the_prompt_language() {
    let validator = validator();
    let knobs = OpenAiKnobs::default();
    for language in ["en", "id"] {
        let template = template(language);
        let mut distinct = BTreeSet::new();
        for image in images() {
            let content = content(&template, &image, &knobs);
            let answer: Value = serde_json::from_str(&content).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&answer)
                .map(|e| e.to_string())
                .collect();
            assert!(
                errors.is_empty(),
                "{language} {image}: {errors:?}\n{content}"
            );
            for field in fields(&template)
                .iter()
                .filter(|field| field["type"] == "enum")
            {
                let value = &answer[text(&field["name"])];
                let listed = field["values"].as_array().unwrap().contains(value);
                assert!(
                    listed || value.is_null(),
                    "{language}: {} = {value}",
                    field["name"]
                );
            }
            distinct.insert(content);
        }
        assert!(
            distinct.len() > 290,
            "{language}: only {} distinct answers",
            distinct.len()
        );
    }
}

#[test]
fn schema_violation_answers_do_not_validate_and_malformed_ones_are_not_json() {
    let validator = validator();
    let count = images().len() as u64;
    let knobs = OpenAiKnobs {
        schema_violation_next: Countdown::new(count),
        ..OpenAiKnobs::default()
    };
    let template = template("id");
    for image in images() {
        let content = content(&template, &image, &knobs);
        let answer: Value = serde_json::from_str(&content).unwrap();
        assert!(!validator.is_valid(&answer), "{image}: {content}");
    }
    assert_eq!(knobs.schema_violation_next.remaining(), 0);
    let image = images().remove(0);
    let valid: Value = serde_json::from_str(&content(&template, &image, &knobs)).unwrap();
    assert!(validator.is_valid(&valid));

    let knobs = OpenAiKnobs {
        malformed_json_next: Countdown::new(40),
        ..OpenAiKnobs::default()
    };
    for image in images().iter().take(40) {
        let content = content(&template, image, &knobs);
        assert!(
            serde_json::from_str::<Value>(&content).is_err(),
            "{content}"
        );
    }
}
