//! Validation of `response_format`: a `json_schema` structured output whose schema follows
//! OpenAI's strict-mode rules (every object lists all its properties in `required` and sets
//! `additionalProperties: false`).

use std::collections::HashSet;

use serde_json::Value;

use super::request::{RequestError, invalid_type, invalid_value};

/// Checks `response_format` and the strict-mode rules on its schema; returns the schema's size
/// in characters (it counts towards the prompt tokens, as the real API injects it).
pub fn check_response_format(
    response_format: Option<&Value>,
    require_strict: bool,
) -> Result<usize, RequestError> {
    let format = match response_format {
        None | Some(Value::Null) => return Err(RequestError::MissingResponseFormat),
        Some(Value::Object(format)) => format,
        Some(_) => return Err(invalid_type("response_format", "an object")),
    };
    match format.get("type").and_then(Value::as_str) {
        Some("json_schema") => {}
        Some(other) => {
            return Err(invalid_value(
                "response_format.type",
                format!("this simulated vision model requires 'json_schema', got '{other}'."),
            ));
        }
        None => {
            return Err(RequestError::MissingParameter(
                "response_format.type".to_string(),
            ));
        }
    }
    let Some(json_schema) = format.get("json_schema").and_then(Value::as_object) else {
        return Err(RequestError::MissingParameter(
            "response_format.json_schema".to_string(),
        ));
    };
    let name = match json_schema.get("name") {
        Some(Value::String(name)) => name.clone(),
        Some(_) => return Err(invalid_type("response_format.json_schema.name", "a string")),
        None => {
            return Err(RequestError::MissingParameter(
                "response_format.json_schema.name".to_string(),
            ));
        }
    };
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !name_ok {
        return Err(invalid_value(
            "response_format.json_schema.name",
            "expected a string of at most 64 characters matching '^[a-zA-Z0-9_-]+$'.",
        ));
    }
    let strict = match json_schema.get("strict") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(strict)) => *strict,
        Some(_) => {
            return Err(invalid_type(
                "response_format.json_schema.strict",
                "a boolean",
            ));
        }
    };
    if require_strict && !strict {
        return Err(invalid_value(
            "response_format.json_schema.strict",
            "this simulated vision model requires strict structured output (\"strict\": true).",
        ));
    }
    let Some(schema) = json_schema.get("schema") else {
        return Err(RequestError::MissingParameter(
            "response_format.json_schema.schema".to_string(),
        ));
    };
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err(RequestError::InvalidSchema {
            name,
            reason: "schema must be a JSON Schema of 'type: \"object\"'.".to_string(),
        });
    }
    if strict {
        check_strict(schema, &mut Vec::new())
            .map_err(|reason| RequestError::InvalidSchema { name, reason })?;
    }
    Ok(schema.to_string().chars().count())
}

/// Strict mode: every object lists all its properties in `required` and forbids others.
fn check_strict(schema: &Value, context: &mut Vec<String>) -> Result<(), String> {
    let Some(node) = schema.as_object() else {
        return Ok(());
    };
    if let Some(Value::Object(properties)) = node.get("properties") {
        if node.get("additionalProperties") != Some(&Value::Bool(false)) {
            return Err(format!(
                "In context={}, 'additionalProperties' is required to be supplied and to be false.",
                render_context(context)
            ));
        }
        let required: HashSet<&str> = node
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(missing) = properties
            .keys()
            .find(|key| !required.contains(key.as_str()))
        {
            return Err(format!(
                "In context={}, 'required' is required to be supplied and to be an array \
                 including every key in properties. Missing '{missing}'.",
                render_context(context)
            ));
        }
        for (key, property) in properties {
            context.extend(["properties".to_string(), key.clone()]);
            check_strict(property, context)?;
            context.truncate(context.len() - 2);
        }
    }
    for keyword in ["items", "anyOf", "$defs", "definitions"] {
        let children: Vec<(String, &Value)> = match node.get(keyword) {
            Some(Value::Object(map)) if keyword.contains("def") => map
                .iter()
                .map(|(key, value)| (key.clone(), value))
                .collect(),
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(i, value)| (i.to_string(), value))
                .collect(),
            Some(value @ Value::Object(_)) => vec![(String::new(), value)],
            _ => Vec::new(),
        };
        for (key, child) in children {
            let depth = context.len();
            context.push(keyword.to_string());
            if !key.is_empty() {
                context.push(key);
            }
            check_strict(child, context)?;
            context.truncate(depth);
        }
    }
    Ok(())
}

/// A Python-tuple rendering of a schema path, as OpenAI prints it: `()`, `('items',)`, `('a', 'b')`.
fn render_context(context: &[String]) -> String {
    let quoted: Vec<String> = context.iter().map(|part| format!("'{part}'")).collect();
    match quoted.len() {
        0 => "()".to_string(),
        1 => format!("({},)", quoted[0]),
        _ => format!("({})", quoted.join(", ")),
    }
}
