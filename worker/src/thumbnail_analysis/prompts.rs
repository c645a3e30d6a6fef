//! The thumbnail-analysis prompt templates (`prompts/thumbnail_analysis/{en,id}.yaml`) and the
//! answer schema (`schema.json`): loading, structural checks against the schema, rendering and
//! the prompt version, exactly as `prompts/README.md` specifies. A broken file is a
//! [`PromptError`] naming the file and the problem; the worker refuses to start with it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokworks_shared::job_options::Language;

/// Number of fields of an analysis.
pub const FIELD_COUNT: usize = 25;

/// Why the prompt files cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid YAML for a prompt template: {source}")]
    Yaml {
        path: PathBuf,
        source: yaml_serde::Error,
    },
    #[error("{path} is not valid JSON: {source}")]
    SchemaJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path} is not a valid JSON Schema: {message}")]
    SchemaInvalid { path: PathBuf, message: String },
    #[error("{path}: {problem}")]
    Template { path: PathBuf, problem: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TemplateFile {
    #[allow(dead_code, reason = "informational: the hash is the version")]
    pub(super) version: u32,
    pub(super) language: String,
    pub(super) system_role: String,
    pub(super) instruction: String,
    pub(super) sections: Vec<SectionFile>,
    pub(super) response_instruction: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SectionFile {
    pub(super) key: String,
    pub(super) title: String,
    pub(super) fields: Vec<FieldFile>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum FieldType {
    Enum,
    String,
    Integer,
    Number,
    Boolean,
    Array,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FieldFile {
    pub(super) name: String,
    pub(super) description: String,
    #[serde(rename = "type")]
    pub(super) kind: FieldType,
    #[serde(default)]
    pub(super) values: Option<Vec<String>>,
    #[serde(default)]
    pub(super) min: Option<serde_json::Number>,
    #[serde(default)]
    pub(super) max: Option<serde_json::Number>,
    #[serde(default)]
    pub(super) nullable: bool,
}

/// One loaded, checked and rendered template.
#[derive(Debug, Clone)]
pub struct PromptTemplate {
    pub language: Language,
    /// The system message.
    pub system_text: String,
    /// The text part of the user message.
    pub user_text: String,
    /// `sha256:<hex>` of system text, 0x00, user text, 0x00, schema.json bytes.
    pub prompt_version: String,
    /// Allowed values of every enum field in this language (`None` = null, when nullable).
    pub enum_values: BTreeMap<String, Vec<Option<String>>>,
}

/// Both templates and the schema, ready to render requests and validate answers.
#[derive(Debug)]
pub struct PromptSet {
    pub english: PromptTemplate,
    pub indonesian: PromptTemplate,
    /// `schema.json` as stored.
    pub schema: Value,
    /// The schema as sent in `response_format` (without the top-level `$schema`).
    pub request_schema: Value,
    pub validator: jsonschema::Validator,
}

impl PromptSet {
    /// The template of `language`.
    pub fn template(&self, language: Language) -> &PromptTemplate {
        match language {
            Language::En => &self.english,
            Language::Id => &self.indonesian,
        }
    }
}

/// The repository's `prompts/` folder (the default of `PROMPTS_DIR`).
pub fn default_prompts_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../prompts"))
}

/// Loads `prompts_dir/thumbnail_analysis/{schema.json,en.yaml,id.yaml}`, checks them against each
/// other and renders both templates.
pub fn load_prompt_set(prompts_dir: &Path) -> Result<PromptSet, PromptError> {
    let folder = prompts_dir.join("thumbnail_analysis");
    let schema_path = folder.join("schema.json");
    let schema_bytes = read(&schema_path)?;
    let schema: Value =
        serde_json::from_slice(&schema_bytes).map_err(|source| PromptError::SchemaJson {
            path: schema_path.clone(),
            source,
        })?;
    let validator =
        jsonschema::validator_for(&schema).map_err(|error| PromptError::SchemaInvalid {
            path: schema_path.clone(),
            message: error.to_string(),
        })?;
    let required = schema_field_names(&schema).map_err(|message| PromptError::SchemaInvalid {
        path: schema_path.clone(),
        message,
    })?;
    let mut request_schema = schema.clone();
    if let Some(object) = request_schema.as_object_mut() {
        object.remove("$schema");
    }
    let english = load_template(&folder, Language::En, &schema, &required, &schema_bytes)?;
    let indonesian = load_template(&folder, Language::Id, &schema, &required, &schema_bytes)?;
    for (name, english_values) in &english.enum_values {
        let indonesian_count = indonesian.enum_values.get(name).map_or(0, Vec::len);
        if indonesian_count != english_values.len() {
            return Err(PromptError::Template {
                path: folder.join("id.yaml"),
                problem: format!(
                    "field {name} lists {indonesian_count} values; en.yaml lists {} (position i \
                     must mean the same in every language)",
                    english_values.len()
                ),
            });
        }
    }
    Ok(PromptSet {
        english,
        indonesian,
        schema,
        request_schema,
        validator,
    })
}

fn read(path: &Path) -> Result<Vec<u8>, PromptError> {
    std::fs::read(path).map_err(|source| PromptError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The schema's `required` names (the field order), which must be exactly its `properties`.
fn schema_field_names(schema: &Value) -> Result<Vec<String>, String> {
    let properties: std::collections::BTreeSet<String> = schema["properties"]
        .as_object()
        .ok_or("no \"properties\" object")?
        .keys()
        .cloned()
        .collect();
    let required: Vec<String> = schema["required"]
        .as_array()
        .ok_or("no \"required\" array")?
        .iter()
        .map(|name| name.as_str().map(str::to_owned))
        .collect::<Option<_>>()
        .ok_or("\"required\" must list strings")?;
    let required_set: std::collections::BTreeSet<String> = required.iter().cloned().collect();
    if required.len() != FIELD_COUNT || required_set != properties {
        return Err(format!(
            "\"required\" must list each of the {FIELD_COUNT} \"properties\" once"
        ));
    }
    Ok(required)
}

fn load_template(
    folder: &Path,
    language: Language,
    schema: &Value,
    required: &[String],
    schema_bytes: &[u8],
) -> Result<PromptTemplate, PromptError> {
    let path = folder.join(format!("{}.yaml", language.as_str()));
    let bytes = read(&path)?;
    let file: TemplateFile =
        yaml_serde::from_slice(&bytes).map_err(|source| PromptError::Yaml {
            path: path.clone(),
            source,
        })?;
    let problem = |problem: String| PromptError::Template {
        path: path.clone(),
        problem,
    };
    super::template_checks::check_template(&file, language, schema, required).map_err(problem)?;
    let (system_text, user_text) = render(&file);
    let prompt_version = prompt_version(&system_text, &user_text, schema_bytes);
    let enum_values = file
        .sections
        .iter()
        .flat_map(|section| &section.fields)
        .filter(|field| field.kind == FieldType::Enum)
        .map(|field| {
            let mut values: Vec<Option<String>> = field
                .values
                .iter()
                .flatten()
                .map(|value| Some(value.trim().to_owned()))
                .collect();
            if field.nullable {
                values.push(None);
            }
            (field.name.trim().to_owned(), values)
        })
        .collect();
    Ok(PromptTemplate {
        language,
        system_text,
        user_text,
        prompt_version,
        enum_values,
    })
}

/// (system text, user text) per prompts/README.md "Rendering".
fn render(file: &TemplateFile) -> (String, String) {
    let mut lines = vec![file.instruction.trim().to_owned()];
    let mut number = 0;
    for section in &file.sections {
        lines.push(String::new());
        lines.push(format!("{}:", section.title.trim()));
        for field in &section.fields {
            number += 1;
            lines.push(format!(
                "{number}) {}: {} {}",
                field.name.trim(),
                field.description.trim(),
                spec(field)
            ));
        }
    }
    lines.push(String::new());
    lines.push(file.response_instruction.trim().to_owned());
    (file.system_role.trim().to_owned(), lines.join("\n"))
}

fn spec(field: &FieldFile) -> String {
    let number = |value: &Option<serde_json::Number>| {
        value.as_ref().map(ToString::to_string).unwrap_or_default()
    };
    match field.kind {
        FieldType::Enum => {
            let mut values: Vec<&str> = field.values.iter().flatten().map(|v| v.trim()).collect();
            if field.nullable {
                values.push("null");
            }
            format!("[{}]", values.join(" | "))
        }
        FieldType::Boolean => "(boolean)".to_owned(),
        FieldType::Array => format!("(array of string, 0..{})", number(&field.max)),
        FieldType::Integer => format!("(integer, {}..{})", number(&field.min), number(&field.max)),
        FieldType::Number => format!("(number, {}..{})", number(&field.min), number(&field.max)),
        FieldType::String => format!("(string, {}..{})", number(&field.min), number(&field.max)),
    }
}

/// `sha256:` + hex of SHA-256(system, 0x00, user, 0x00, schema bytes).
pub fn prompt_version(system_text: &str, user_text: &str, schema_bytes: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(system_text.as_bytes());
    hasher.update([0]);
    hasher.update(user_text.as_bytes());
    hasher.update([0]);
    hasher.update(schema_bytes);
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repository_prompts() -> PromptSet {
        load_prompt_set(&default_prompts_dir()).unwrap()
    }

    #[test]
    fn the_repository_templates_load_and_render_the_readme_example_line() {
        let prompts = repository_prompts();
        let line = "5) text_overlay_style: The style of the text written over the image; null \
                    when there is no text overlay. [clean | bold | handwritten | gradient | \
                    outline | shadow | null]";
        assert!(
            prompts.english.user_text.lines().any(|l| l == line),
            "{}",
            prompts.english.user_text
        );
        for template in [&prompts.english, &prompts.indonesian] {
            let numbers: Vec<usize> = template
                .user_text
                .lines()
                .filter_map(|line| line.split_once(") "))
                .filter_map(|(number, _)| number.parse().ok())
                .collect();
            assert_eq!(numbers, (1..=FIELD_COUNT).collect::<Vec<_>>());
            assert!(template.user_text.contains("(integer, 0..20)"));
            assert!(template.user_text.contains("(array of string, 0..10)"));
            assert_eq!(template.enum_values.len(), 18);
        }
        assert!(prompts.indonesian.user_text.contains("berbicara_langsung"));
        assert!(!prompts.english.user_text.contains("berbicara_langsung"));
        assert!(prompts.request_schema.get("$schema").is_none());
        assert!(prompts.schema.get("$schema").is_some());
    }

    #[test]
    fn the_prompt_version_hashes_system_user_and_schema_with_separators() {
        let prompts = repository_prompts();
        let schema_bytes =
            std::fs::read(default_prompts_dir().join("thumbnail_analysis/schema.json")).unwrap();
        let english = &prompts.english;
        assert_eq!(
            english.prompt_version,
            prompt_version(&english.system_text, &english.user_text, &schema_bytes)
        );
        assert!(english.prompt_version.starts_with("sha256:"));
        assert_eq!(english.prompt_version.len(), 7 + 64);
        assert_ne!(english.prompt_version, prompts.indonesian.prompt_version);
        assert_ne!(
            prompt_version("ab", "c", b"x"),
            prompt_version("a", "bc", b"x")
        );
        let mut changed_schema = schema_bytes.clone();
        changed_schema.push(b'\n');
        assert_ne!(
            english.prompt_version,
            prompt_version(&english.system_text, &english.user_text, &changed_schema)
        );
    }

    /// A copy of the repository's prompts folder with `edit` applied to one file.
    fn broken_copy(file: &str, edit: impl Fn(String) -> String) -> PathBuf {
        let root =
            std::env::temp_dir().join(format!("tokworks-prompts-{}", ulid::Ulid::generate()));
        let folder = root.join("thumbnail_analysis");
        std::fs::create_dir_all(&folder).unwrap();
        for name in ["en.yaml", "id.yaml", "schema.json"] {
            let text = std::fs::read_to_string(
                default_prompts_dir().join("thumbnail_analysis").join(name),
            )
            .unwrap();
            let text = if name == file { edit(text) } else { text };
            std::fs::write(folder.join(name), text).unwrap();
        }
        root
    }

    #[test]
    fn broken_templates_are_refused_with_the_file_and_the_problem() {
        type Edit = fn(String) -> String;
        let cases: [(&str, Edit, &str); 5] = [
            (
                "en.yaml",
                |text| text.replace("language: en", "language: fr"),
                "language",
            ),
            (
                "id.yaml",
                |text| text.replace("- name: setting", "- name: place"),
                "fields",
            ),
            (
                "en.yaml",
                |text| text.replace("[clean, bold,", "[clean, loud,"),
                "\"loud\"",
            ),
            (
                "en.yaml",
                |text| text.replace("key: basic", "key: basics"),
                "sections",
            ),
            (
                "schema.json",
                |text| text.replacen('{', "[", 1),
                "schema.json",
            ),
        ];
        for (file, edit, expected) in cases {
            let root = broken_copy(file, edit);
            let error = load_prompt_set(&root).unwrap_err().to_string();
            assert!(error.contains(file), "{file}: {error}");
            assert!(error.contains(expected), "{file}: {error}");
            std::fs::remove_dir_all(root).unwrap();
        }
    }
}
