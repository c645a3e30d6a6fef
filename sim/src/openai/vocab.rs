//! What the simulated vision model knows: the 18 enum fields of a thumbnail analysis with their
//! English and Indonesian values, and parallel phrase lists for the free-text fields.
//!
//! Duplicated on purpose from `prompts/thumbnail_analysis/` (never read at run time): the
//! simulator is an independent model, and a test checks that both agree.

/// Language of a prompt, and so of the values in the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    Indonesian,
}

/// One enum field: English and Indonesian values in parallel (same length, same order).
#[derive(Debug)]
pub struct EnumField {
    pub name: &'static str,
    pub english: &'static [&'static str],
    pub indonesian: &'static [&'static str],
}

impl EnumField {
    /// The values of this field in `language`.
    pub fn values(&self, language: Language) -> &'static [&'static str] {
        match language {
            Language::English => self.english,
            Language::Indonesian => self.indonesian,
        }
    }
}

const fn same(name: &'static str, values: &'static [&'static str]) -> EnumField {
    EnumField {
        name,
        english: values,
        indonesian: values,
    }
}

pub const VISUAL_STYLE: EnumField = EnumField {
    name: "visual_style",
    english: &[
        "talking_head",
        "flat_lay",
        "product_demo",
        "POV",
        "lifestyle",
        "tutorial",
        "review",
    ],
    indonesian: &[
        "berbicara_langsung",
        "flat_lay",
        "demo_produk",
        "POV",
        "lifestyle",
        "tutorial",
        "review",
    ],
};
pub const SETTING: EnumField = EnumField {
    name: "setting",
    english: &[
        "indoor", "outdoor", "studio", "bedroom", "kitchen", "office", "street", "store",
    ],
    indonesian: &[
        "dalam_ruangan",
        "luar_ruangan",
        "studio",
        "kamar_tidur",
        "dapur",
        "kantor",
        "jalan",
        "toko",
    ],
};
pub const CAMERA_ANGLE: EnumField = EnumField {
    name: "camera_angle",
    english: &[
        "close_up",
        "medium_shot",
        "wide_shot",
        "low_angle",
        "high_angle",
        "bird_eye",
    ],
    indonesian: &[
        "close_up",
        "medium_shot",
        "wide_shot",
        "sudut_rendah",
        "sudut_tinggi",
        "bird_eye",
    ],
};
/// Nullable in the schema: `null` when there is no text overlay.
pub const TEXT_OVERLAY_STYLE: EnumField = EnumField {
    name: "text_overlay_style",
    english: &[
        "clean",
        "bold",
        "handwritten",
        "gradient",
        "outline",
        "shadow",
    ],
    indonesian: &[
        "bersih",
        "tebal",
        "tulisan_tangan",
        "gradient",
        "outline",
        "shadow",
    ],
};
pub const COLOR_SCHEME: EnumField = EnumField {
    name: "color_scheme",
    english: &[
        "warm",
        "cool",
        "bright",
        "dark",
        "monochrome",
        "high_contrast",
        "pastel",
    ],
    indonesian: &[
        "hangat",
        "dingin",
        "cerah",
        "gelap",
        "monokrom",
        "kontras_tinggi",
        "pastel",
    ],
};
pub const COMPOSITION_TYPE: EnumField = same(
    "composition_type",
    &[
        "rule_of_thirds",
        "center_focused",
        "diagonal",
        "symmetrical",
        "asymmetrical",
    ],
);
pub const LIGHTING_QUALITY: EnumField = same(
    "lighting_quality",
    &[
        "natural",
        "artificial",
        "dramatic",
        "soft",
        "harsh",
        "backlit",
    ],
);
pub const MOOD_EMOTION: EnumField = same(
    "mood_emotion",
    &[
        "excited",
        "calm",
        "urgent",
        "playful",
        "professional",
        "mysterious",
        "confident",
    ],
);
pub const PRODUCTION_QUALITY: EnumField = same(
    "production_quality",
    &["professional", "semi_pro", "amateur", "phone_quality"],
);
pub const BACKGROUND_COMPLEXITY: EnumField = same(
    "background_complexity",
    &["minimal", "moderate", "busy", "chaotic"],
);
pub const STORY_STAGE: EnumField = same(
    "story_stage",
    &[
        "opening_hook",
        "problem_setup",
        "solution_reveal",
        "result_show",
        "transition",
    ],
);
pub const PRODUCT_PROMINENCE: EnumField = same(
    "product_prominence",
    &["dominant", "subtle", "background", "none"],
);
pub const VISUAL_INTEREST_LEVEL: EnumField =
    same("visual_interest_level", &["high", "medium", "low"]);
pub const SCROLL_STOPPING_POWER: EnumField =
    same("scroll_stopping_power", &["strong", "moderate", "weak"]);
pub const TARGET_DEMOGRAPHIC: EnumField = EnumField {
    name: "target_demographic",
    english: &[
        "teens",
        "young_adults",
        "families",
        "professionals",
        "parents",
    ],
    indonesian: &[
        "remaja",
        "dewasa_muda",
        "keluarga",
        "profesional",
        "ibu_rumah_tangga",
    ],
};
pub const CONTENT_CATEGORY: EnumField = same(
    "content_category",
    &[
        "tutorial",
        "review",
        "demo",
        "lifestyle",
        "entertainment",
        "education",
        "comedy",
    ],
);
pub const PACING_INDICATOR: EnumField = same(
    "pacing_indicator",
    &["fast_paced", "moderate", "slow_build"],
);
pub const TRANSITION_STYLE: EnumField = same(
    "transition_style",
    &["smooth", "jump_cut", "fade", "dynamic", "static"],
);

/// Every enum field, in answer order.
pub const ENUM_FIELDS: [&EnumField; 18] = [
    &VISUAL_STYLE,
    &SETTING,
    &CAMERA_ANGLE,
    &TEXT_OVERLAY_STYLE,
    &COLOR_SCHEME,
    &COMPOSITION_TYPE,
    &LIGHTING_QUALITY,
    &MOOD_EMOTION,
    &PRODUCTION_QUALITY,
    &BACKGROUND_COMPLEXITY,
    &STORY_STAGE,
    &PRODUCT_PROMINENCE,
    &VISUAL_INTEREST_LEVEL,
    &SCROLL_STOPPING_POWER,
    &TARGET_DEMOGRAPHIC,
    &CONTENT_CATEGORY,
    &PACING_INDICATOR,
    &TRANSITION_STYLE,
];

/// The 25 answer fields, in the order the prompt numbers them 1..25.
#[cfg(test)]
pub const FIELD_NAMES: [&str; 25] = [
    "visual_style",
    "setting",
    "people_count",
    "camera_angle",
    "text_overlay_style",
    "color_scheme",
    "hook_elements",
    "confidence_score",
    "composition_type",
    "focal_point",
    "lighting_quality",
    "mood_emotion",
    "brand_elements",
    "production_quality",
    "background_complexity",
    "props_objects",
    "story_stage",
    "call_to_action_visible",
    "product_prominence",
    "visual_interest_level",
    "scroll_stopping_power",
    "target_demographic",
    "content_category",
    "pacing_indicator",
    "transition_style",
];

/// A phrase in both languages.
pub type Phrase = (&'static str, &'static str);

/// Picks the phrase of `language`.
pub fn phrase(pair: Phrase, language: Language) -> &'static str {
    match language {
        Language::English => pair.0,
        Language::Indonesian => pair.1,
    }
}

pub const FOCAL_POINTS: [Phrase; 10] = [
    (
        "The presenter's face in the centre of the frame",
        "Wajah pembawa acara di tengah bingkai",
    ),
    (
        "A product held up close to the camera",
        "Produk yang diangkat dekat ke kamera",
    ),
    (
        "Bold headline text across the top",
        "Teks judul tebal di bagian atas",
    ),
    (
        "A plate of food on the table",
        "Sepiring makanan di atas meja",
    ),
    (
        "The person pointing at the caption",
        "Orang yang menunjuk ke arah teks",
    ),
    (
        "A before-and-after split of the same scene",
        "Perbandingan sebelum dan sesudah dari adegan yang sama",
    ),
    (
        "A smartphone screen showing an app",
        "Layar ponsel yang menampilkan aplikasi",
    ),
    (
        "An outfit reflected in a full-length mirror",
        "Pakaian yang terpantul di cermin besar",
    ),
    (
        "A bright sunset behind the subject",
        "Matahari terbenam yang cerah di belakang subjek",
    ),
    (
        "A hand opening a parcel",
        "Tangan yang sedang membuka paket",
    ),
];

pub const HOOK_ELEMENTS: [Phrase; 12] = [
    ("surprised facial expression", "ekspresi wajah terkejut"),
    ("large bold number", "angka besar dan tebal"),
    (
        "red arrow pointing at the product",
        "panah merah menunjuk produk",
    ),
    ("before-and-after split", "perbandingan sebelum dan sesudah"),
    ("question in the caption", "pertanyaan di teks"),
    ("bright contrasting colours", "warna cerah yang kontras"),
    ("emoji stickers", "stiker emoji"),
    ("price tag", "label harga"),
    ("close-up of the product", "close-up produk"),
    ("eye contact with the camera", "kontak mata dengan kamera"),
    ("countdown text", "teks hitung mundur"),
    ("circled detail", "detail yang dilingkari"),
];

pub const BRAND_ELEMENTS: [Phrase; 5] = [
    ("logo on the packaging", "logo pada kemasan"),
    (
        "brand name on the product label",
        "nama merek pada label produk",
    ),
    ("shop name watermark", "tanda air nama toko"),
    ("logo on the t-shirt", "logo pada kaus"),
    ("branded shopping bag", "tas belanja bermerek"),
];

pub const PROPS_OBJECTS: [Phrase; 20] = [
    ("smartphone", "ponsel"),
    ("ring light", "lampu cincin"),
    ("coffee cup", "cangkir kopi"),
    ("laptop", "laptop"),
    ("skincare bottle", "botol perawatan kulit"),
    ("plate of food", "piring makanan"),
    ("shopping bag", "tas belanja"),
    ("sunglasses", "kacamata hitam"),
    ("notebook", "buku catatan"),
    ("microphone", "mikrofon"),
    ("plant", "tanaman"),
    ("mirror", "cermin"),
    ("sneakers", "sepatu kets"),
    ("headphones", "headphone"),
    ("makeup brush", "kuas rias"),
    ("water bottle", "botol air"),
    ("book", "buku"),
    ("camera", "kamera"),
    ("lipstick", "lipstik"),
    ("keyboard", "papan ketik"),
];

/// Common words that mark a prompt as Indonesian (weight 1 each in language detection).
pub const INDONESIAN_WORDS: [&str; 16] = [
    "yang",
    "dan",
    "dengan",
    "untuk",
    "dalam",
    "gambar",
    "ini",
    "tidak",
    "jika",
    "atau",
    "adalah",
    "pada",
    "anda",
    "kolom",
    "jawab",
    "indonesia",
];

/// Common words that mark a prompt as English (weight 1 each in language detection).
pub const ENGLISH_WORDS: [&str; 16] = [
    "the", "and", "with", "for", "this", "image", "not", "when", "or", "is", "you", "your",
    "field", "answer", "english", "only",
];
