//! Structural checks of a prompt template against `schema.json` (prompts/README.md "Template
//! structure"): the language, three sections in order, the schema's 25 fields in order, and for
//! each field a type, nullability, enum values and ranges that the schema agrees with.

use serde_json::Value;

use tokworks_shared::job_options::Language;

use super::prompts::{FIELD_COUNT, FieldFile, FieldType, TemplateFile};

/// The three sections, in order.
const SECTION_KEYS: [&str; 3] = ["basic", "composition_production", "content_audience"];

pub(super) fn check_template(
    file: &TemplateFile,
    language: Language,
    schema: &Value,
    required: &[String],
) -> Result<(), String> {
    if file.language.trim() != language.as_str() {
        return Err(format!(
            "language is {:?} but the file is {}.yaml",
            file.language,
            language.as_str()
        ));
    }
    for (key, text) in [
        ("system_role", &file.system_role),
        ("instruction", &file.instruction),
        ("response_instruction", &file.response_instruction),
    ] {
        if text.trim().is_empty() {
            return Err(format!("{key} is empty"));
        }
    }
    let keys: Vec<&str> = file
        .sections
        .iter()
        .map(|section| section.key.trim())
        .collect();
    if keys != SECTION_KEYS {
        return Err(format!(
            "sections must be exactly {SECTION_KEYS:?} in this order, found {keys:?}"
        ));
    }
    let names: Vec<&str> = file
        .sections
        .iter()
        .flat_map(|section| &section.fields)
        .map(|field| field.name.trim())
        .collect();
    if names != required {
        return Err(format!(
            "the fields must be schema.json's {FIELD_COUNT} required fields in order; found {} \
             fields: {names:?}",
            names.len()
        ));
    }
    for section in &file.sections {
        if section.title.trim().is_empty() {
            return Err(format!("section {} has an empty title", section.key));
        }
        for field in &section.fields {
            check_field(field, &schema["properties"][field.name.trim()])
                .map_err(|problem| format!("field {}: {problem}", field.name.trim()))?;
        }
    }
    Ok(())
}

fn check_field(field: &FieldFile, property: &Value) -> Result<(), String> {
    if field.description.trim().is_empty() {
        return Err("empty description".to_owned());
    }
    let schema_types: Vec<&str> = match &property["type"] {
        Value::String(kind) => vec![kind.as_str()],
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let schema_nullable = schema_types.contains(&"null");
    if field.nullable != schema_nullable {
        return Err(format!(
            "nullable is {} but schema.json says {schema_nullable}",
            field.nullable
        ));
    }
    let expected_type = match field.kind {
        FieldType::Enum | FieldType::String => "string",
        FieldType::Integer => "integer",
        FieldType::Number => "number",
        FieldType::Boolean => "boolean",
        FieldType::Array => "array",
    };
    if !schema_types.contains(&expected_type) {
        return Err(format!(
            "type {:?} does not match schema.json's {schema_types:?}",
            field.kind
        ));
    }
    match field.kind {
        FieldType::Enum => {
            let values = field
                .values
                .as_ref()
                .filter(|values| !values.is_empty())
                .ok_or("an enum needs a non-empty values list")?;
            let allowed = property["enum"]
                .as_array()
                .ok_or("schema.json has no enum")?;
            for value in values {
                if !allowed.contains(&Value::String(value.trim().to_owned())) {
                    return Err(format!("value {value:?} is not in schema.json's enum"));
                }
            }
            if field.nullable && !allowed.contains(&Value::Null) {
                return Err("nullable, but schema.json's enum lacks null".to_owned());
            }
        }
        FieldType::Integer | FieldType::Number => {
            let (min, max) = range(field)?;
            if property["minimum"].as_f64() != Some(min)
                || property["maximum"].as_f64() != Some(max)
            {
                return Err(format!(
                    "range {min}..{max} differs from schema.json's minimum/maximum"
                ));
            }
        }
        FieldType::String => {
            range(field)?;
        }
        FieldType::Array => {
            let max = field.max.as_ref().and_then(serde_json::Number::as_u64);
            if max.is_none() || property["maxItems"].as_u64() != max {
                return Err("max differs from schema.json's maxItems".to_owned());
            }
        }
        FieldType::Boolean => {}
    }
    if field.kind != FieldType::Enum && field.values.is_some() {
        return Err("values are only for enum fields".to_owned());
    }
    Ok(())
}

fn range(field: &FieldFile) -> Result<(f64, f64), String> {
    match (
        field.min.as_ref().and_then(serde_json::Number::as_f64),
        field.max.as_ref().and_then(serde_json::Number::as_f64),
    ) {
        (Some(min), Some(max)) if min <= max => Ok((min, max)),
        _ => Err("needs numeric min and max with min <= max".to_owned()),
    }
}
