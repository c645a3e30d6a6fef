//! The simulated model's answers: a schema-valid thumbnail analysis derived deterministically
//! from the image bytes, and the faulty variants the knobs ask for (not JSON, schema-violating).

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::vocab::{self, EnumField, Language, Phrase};

/// A small deterministic generator (SplitMix64) seeded from a SHA-256 digest.
#[derive(Debug, Clone)]
pub struct Dice(u64);

impl Dice {
    /// Seeds from the SHA-256 of `bytes` and a `purpose`, so separate uses draw separate numbers.
    pub fn from_bytes(bytes: &[u8], purpose: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(purpose.as_bytes());
        hasher.update([0]);
        hasher.update(bytes);
        let digest = hasher.finalize();
        let mut seed = [0_u8; 8];
        seed.copy_from_slice(&digest[..8]);
        Dice(u64::from_le_bytes(seed))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` ≥ 1).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }

    /// A number in `low..=high`.
    fn between(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high.saturating_sub(low) + 1)
    }

    /// True with probability `1 / one_in`.
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    /// `count` distinct phrases of `language`, in a shuffled order.
    fn phrases(&mut self, pool: &[Phrase], count: usize, language: Language) -> Vec<String> {
        let mut order: Vec<usize> = (0..pool.len()).collect();
        for i in 0..count.min(pool.len()) {
            let j = i + self.below(pool.len() - i);
            order.swap(i, j);
        }
        order
            .iter()
            .take(count)
            .filter_map(|&index| pool.get(index))
            .map(|pair| vocab::phrase(*pair, language).to_string())
            .collect()
    }
}

/// One thumbnail analysis; fields serialise in the prompt's order 1..25.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub visual_style: &'static str,
    pub setting: &'static str,
    pub people_count: u8,
    pub camera_angle: &'static str,
    pub text_overlay_style: Option<&'static str>,
    pub color_scheme: &'static str,
    pub hook_elements: Vec<String>,
    pub confidence_score: f64,
    pub composition_type: &'static str,
    pub focal_point: String,
    pub lighting_quality: &'static str,
    pub mood_emotion: &'static str,
    pub brand_elements: Vec<String>,
    pub production_quality: &'static str,
    pub background_complexity: &'static str,
    pub props_objects: Vec<String>,
    pub story_stage: &'static str,
    pub call_to_action_visible: bool,
    pub product_prominence: &'static str,
    pub visual_interest_level: &'static str,
    pub scroll_stopping_power: &'static str,
    pub target_demographic: &'static str,
    pub content_category: &'static str,
    pub pacing_indicator: &'static str,
    pub transition_style: &'static str,
}

/// Value `index` of `field` in `language` (indices are shared by both languages).
fn value(field: &EnumField, index: usize, language: Language) -> &'static str {
    let values = field.values(language);
    values
        .get(index % values.len().max(1))
        .copied()
        .unwrap_or("")
}

/// The analysis of the image whose bytes are `image`, in `language`: the same bytes always give
/// the same analysis (the same choices in both languages), and a few fields follow from others
/// the way a real model's would (a flat lay shows nobody, a product demo shows the product).
pub fn analyse(image: &[u8], language: Language) -> Analysis {
    use vocab::*;
    let mut dice = Dice::from_bytes(image, "thumbnail_analysis");
    let style = dice.below(VISUAL_STYLE.english.len());
    let (people, angle) = match VISUAL_STYLE.english.get(style).copied() {
        Some("talking_head") => (dice.between(1, 2), dice.below(2)),
        Some("POV") => (dice.between(0, 1), dice.below(CAMERA_ANGLE.english.len())),
        Some("flat_lay") => (0, 4 + dice.below(2)),
        _ => (dice.between(0, 4), dice.below(CAMERA_ANGLE.english.len())),
    };
    let prominence = match VISUAL_STYLE.english.get(style).copied() {
        Some("product_demo" | "review" | "flat_lay") => dice.below(2),
        _ => dice.below(PRODUCT_PROMINENCE.english.len()),
    };
    let has_product = PRODUCT_PROMINENCE.english.get(prominence).copied() != Some("none");
    let overlay = (!dice.chance(5)).then(|| dice.below(TEXT_OVERLAY_STYLE.english.len()));
    let hook_count = dice.between(1, 4);
    let brand_count = if has_product { dice.between(0, 2) } else { 0 };
    let props_count = dice.between(0, 6);
    Analysis {
        visual_style: value(&VISUAL_STYLE, style, language),
        setting: value(&SETTING, dice.below(SETTING.english.len()), language),
        people_count: u8::try_from(people).unwrap_or(0),
        camera_angle: value(&CAMERA_ANGLE, angle, language),
        text_overlay_style: overlay.map(|index| value(&TEXT_OVERLAY_STYLE, index, language)),
        color_scheme: value(
            &COLOR_SCHEME,
            dice.below(COLOR_SCHEME.english.len()),
            language,
        ),
        hook_elements: dice.phrases(&HOOK_ELEMENTS, hook_count, language),
        confidence_score: dice.between(55, 98) as f64 / 100.0,
        composition_type: value(&COMPOSITION_TYPE, dice.below(5), language),
        focal_point: vocab::phrase(FOCAL_POINTS[dice.below(FOCAL_POINTS.len())], language)
            .to_string(),
        lighting_quality: value(&LIGHTING_QUALITY, dice.below(6), language),
        mood_emotion: value(&MOOD_EMOTION, dice.below(7), language),
        brand_elements: dice.phrases(&BRAND_ELEMENTS, brand_count, language),
        production_quality: value(&PRODUCTION_QUALITY, dice.below(4), language),
        background_complexity: value(&BACKGROUND_COMPLEXITY, dice.below(4), language),
        props_objects: dice.phrases(&PROPS_OBJECTS, props_count, language),
        story_stage: value(&STORY_STAGE, dice.below(5), language),
        call_to_action_visible: dice.chance(3),
        product_prominence: value(&PRODUCT_PROMINENCE, prominence, language),
        visual_interest_level: value(&VISUAL_INTEREST_LEVEL, dice.below(3), language),
        scroll_stopping_power: value(&SCROLL_STOPPING_POWER, dice.below(3), language),
        target_demographic: value(&TARGET_DEMOGRAPHIC, dice.below(5), language),
        content_category: value(&CONTENT_CATEGORY, dice.below(7), language),
        pacing_indicator: value(&PACING_INDICATOR, dice.below(3), language),
        transition_style: value(&TRANSITION_STYLE, dice.below(5), language),
    }
}

/// The analysis as the `message.content` string.
pub fn to_content(analysis: &Analysis) -> String {
    serde_json::to_string(analysis).unwrap_or_else(|_| "{}".to_string())
}

/// Content that is not JSON, in one of the ways models get it wrong.
pub fn malformed_content(image: &[u8], valid: &str) -> String {
    let mut dice = Dice::from_bytes(image, "malformed_json");
    match dice.below(4) {
        0 => {
            let cut = valid
                .char_indices()
                .nth(valid.chars().count() / 2)
                .map_or(0, |(i, _)| i);
            valid[..cut].to_string()
        }
        1 => format!("```json\n{valid}\n```"),
        2 => format!("Here is the analysis of the thumbnail:\n{valid}"),
        _ => valid.replace('"', "'"),
    }
}

/// JSON content that violates the analysis schema, in one of several ways.
pub fn schema_violating_content(image: &[u8], analysis: &Analysis) -> String {
    let mut dice = Dice::from_bytes(image, "schema_violation");
    let mut value = serde_json::to_value(analysis).unwrap_or(Value::Null);
    if let Value::Object(object) = &mut value {
        match dice.below(8) {
            0 => {
                let field = vocab::ENUM_FIELDS[dice.below(vocab::ENUM_FIELDS.len())];
                object.insert(field.name.into(), "neon_rainbow".into());
            }
            1 => {
                object.remove("focal_point");
            }
            2 => {
                object.insert("notes".into(), "the image looks fine".into());
            }
            3 => {
                object.insert("people_count".into(), 42.into());
            }
            4 => {
                object.insert("confidence_score".into(), 1.7.into());
            }
            5 => {
                object.insert("call_to_action_visible".into(), "yes".into());
            }
            6 => {
                let many: Vec<Value> = (1..=12).map(|n| format!("element {n}").into()).collect();
                object.insert("hook_elements".into(), many.into());
            }
            _ => {
                object.insert("focal_point".into(), "ok".into());
            }
        }
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_same_analysis_and_languages_agree_on_choices() {
        let english = to_content(&analyse(b"cover-1", Language::English));
        assert_eq!(english, to_content(&analyse(b"cover-1", Language::English)));
        let indonesian = analyse(b"cover-1", Language::Indonesian);
        let english = analyse(b"cover-1", Language::English);
        assert_eq!(english.people_count, indonesian.people_count);
        assert_eq!(english.confidence_score, indonesian.confidence_score);
    }

    #[test]
    fn fields_serialise_in_prompt_order() {
        let content = to_content(&analyse(b"cover-2", Language::Indonesian));
        let mut positions: Vec<usize> = vocab::FIELD_NAMES
            .iter()
            .map(|name| content.find(&format!("\"{name}\":")).unwrap())
            .collect();
        let unsorted = positions.clone();
        positions.sort_unstable();
        assert_eq!(positions, unsorted);
    }

    #[test]
    fn faulty_contents_are_what_they_claim() {
        for seed in 0..64_u32 {
            let image = seed.to_le_bytes();
            let analysis = analyse(&image, Language::English);
            let valid = to_content(&analysis);
            let malformed = malformed_content(&image, &valid);
            assert!(
                serde_json::from_str::<Value>(&malformed).is_err(),
                "{malformed}"
            );
            let violating = schema_violating_content(&image, &analysis);
            assert!(serde_json::from_str::<Value>(&violating).is_ok());
            assert_ne!(violating, valid);
        }
    }
}
