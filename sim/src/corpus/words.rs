//! Fixed vocabularies the corpus draws from: hashtags, caption phrases, names, tracks, places.

/// Hashtag names, most popular first; a few keep TikTok's real old short ids.
pub const HASHTAGS: &[(&str, Option<&str>)] = &[
    ("fyp", Some("229207")),
    ("foryou", Some("42164")),
    ("foryoupage", Some("88764338")),
    ("viral", Some("1606")),
    ("funny", Some("5424")),
    ("trending", Some("49759")),
    ("food", Some("2890")),
    ("cats", None),
    ("dogsoftiktok", None),
    ("dance", Some("10450")),
    ("comedy", Some("6969")),
    ("recipe", None),
    ("travel", Some("2592")),
    ("fashion", Some("2811")),
    ("makeup", Some("3125")),
    ("fitness", Some("3131")),
    ("gaming", Some("20208")),
    ("callofduty", Some("42578")),
    ("music", Some("1524")),
    ("art", Some("1616")),
    ("diy", None),
    ("learnontiktok", None),
    ("booktok", None),
    ("skincare", None),
    ("football", None),
    ("asmr", None),
    ("cooking", None),
    ("pets", None),
    ("nature", None),
    ("photography", None),
    ("tech", None),
    ("motivation", None),
    ("storytime", None),
    ("lifehack", None),
    ("kulinerindonesia", None),
    ("jakarta", None),
    ("fypシ", None),
    ("coffee", None),
    ("streetfood", None),
    ("outfit", None),
    ("gardening", None),
    ("science", None),
    ("history", None),
    ("anime", None),
    ("baking", None),
    ("roadtrip", None),
    ("minivlog", None),
    ("tutorial", None),
    ("explore", None),
    ("summer", None),
];

/// Caption openers (no hashtags; may contain emoji).
pub const CAPTION_PHRASES: &[&str] = &[
    "testing the new camera 🎥",
    "wait for the end 😂",
    "this recipe changed my life",
    "POV: you finally try the viral pasta",
    "morning routine but make it chaotic",
    "my cat has opinions 🐱",
    "rating every snack at the night market",
    "3 things I wish I knew before moving",
    "día de playa con amigos 🌊",
    "cara bikin kopi susu gula aren ☕",
    "the view from up here 😍",
    "don't skip the last step",
    "trying the trend one more time",
    "how it started vs how it's going",
    "small kitchen, big flavour 🍜",
    "teaching my dog a new trick 🐶",
    "outfit check before the concert ✨",
    "this sound is stuck in my head",
    "a quick tip for better photos 📸",
    "weekend reset with me",
    "resep nasi goreng kampung 🍳",
    "which one would you pick?",
    "first time trying this, be nice 🙈",
    "storytime: the worst flight ever ✈️",
    "you have to see this sunset 🌅",
    "grwm for a long day",
    "rebuilding my setup from scratch 💻",
    "mini vlog: a slow Sunday",
    "can't believe this worked 🤯",
    "part 2 because you asked 💬",
];

/// Second caption lines (used for multi-line captions).
pub const CAPTION_SECOND_LINES: &[&str] = &[
    "full recipe in the comments",
    "follow for part 3",
    "song in my bio 🎶",
    "let me know what you think 👇",
    "saved you a seat ❤️",
    "more on my page",
];

/// Words for handles.
pub const HANDLE_FIRST: &[&str] = &[
    "maya", "leo", "ayu", "dan", "sofia", "kenji", "noor", "lucas", "rina", "omar", "chloe",
    "bima", "ella", "diego", "yuki", "sam", "putri", "max", "zara", "ivan", "nina", "theo",
];
pub const HANDLE_SECOND: &[&str] = &[
    "cooks", "travels", "films", "daily", "eats", "makes", "plays", "dances", "reads", "lifts",
    "draws", "vlogs", "sings", "grows", "bakes", "codes", "talks", "styles",
];

/// Display names (some with non-ASCII characters).
pub const NICKNAMES: &[&str] = &[
    "Maya 🌸",
    "Leo Martins",
    "Ayu ✨",
    "Dan K.",
    "Sofía Ramírez",
    "健二 Kenji",
    "Noor",
    "Lucas 🇧🇷",
    "Rina Putri",
    "Omar the Chef",
    "Chloé",
    "Bima Sakti",
    "Ella ☕",
    "Diego García",
    "小雨 Yuki",
    "Sam",
    "Putri Cantik 💕",
    "Max Müller",
    "Zara",
    "Ivan Petrov",
    "Nina 🎨",
    "Théo",
];

/// Bio lines.
pub const SIGNATURES: &[&str] = &[
    "",
    "food, travel & bad jokes",
    "📍 Jakarta\nbusiness: hello@example.com",
    "daily videos ✨",
    "just a cat and their human 🐱",
    "cooking at home since 2019\nrecipes below 👇",
    "not a professional",
    "IG: same name",
    "🎥 filmmaker | ☕ coffee addict",
    "hi, welcome to my page!",
];

/// Licensed tracks: (title, artist, album, duration seconds).
pub const TRACKS: &[(&str, &str, &str, u32)] = &[
    ("Espresso", "Sabrina Carpenter", "Short n' Sweet", 175),
    ("Blinding Lights", "The Weeknd", "After Hours", 200),
    ("Levitating", "Dua Lipa", "Future Nostalgia", 203),
    ("Monkeys Spinning Monkeys", "Kevin MacLeod", "", 122),
    ("Aesthetic", "Tollan Kim", "", 60),
    ("Sunroof", "Nicky Youre & dazy", "Sunroof", 163),
    ("Lagu Santai", "Pamungkas", "", 98),
    ("Oh No", "Kreepa", "", 54),
    (
        "Calm Down",
        "Rema & Selena Gomez",
        "Rave & Roses Ultra",
        239,
    ),
    ("original beat", "DJ Kids", "", 45),
];

/// Countries a post can be created in (`locationCreated`).
pub const LOCATIONS: &[&str] = &["US", "ID", "GB", "BR", "DE", "JP", "MX", "FR", "PH", "CA"];

/// Subtitle languages: (LanguageCodeName, languageCode, LanguageID).
pub const SUBTITLE_LANGUAGES: &[(&str, &str, &str)] = &[
    ("eng-US", "en", "2"),
    ("ind-ID", "id", "20"),
    ("spa-ES", "es", "8"),
    ("por-PT", "pt", "9"),
    ("jpn-JP", "ja", "5"),
];

/// Emoji sprinkled at the end of captions.
pub const EMOJI: &[&str] = &["🔥", "😂", "❤️", "✨", "👀", "🙌", "💯", "🥲"];

/// Labels for `diversificationLabels`.
pub const LABELS: &[&[&str]] = &[
    &["Pets", "Animals"],
    &["Food & Drink", "Cooking"],
    &["Entertainment", "Comedy"],
    &["Travel", "Lifestyle"],
    &["Video Games", "Games", "Entertainment"],
    &["Beauty & Style", "Fashion"],
];
