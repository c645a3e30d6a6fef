//! Fuzz target: a vision answer's content (untrusted model output) through `validate_answer`
//! must never panic, and an accepted answer must validate again for the same language.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tokworks_worker::thumbnail_analysis::prompts::{PromptSet, default_prompts_dir, load_prompt_set};
use tokworks_worker::thumbnail_analysis::validate::{AnswerMessage, validate_analysis, validate_answer};

fn prompts() -> &'static PromptSet {
    static PROMPTS: OnceLock<PromptSet> = OnceLock::new();
    PROMPTS.get_or_init(|| load_prompt_set(&default_prompts_dir()).expect("repository prompts"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let prompts = prompts();
    let message = AnswerMessage {
        content: Some(text.to_owned()),
        refusal: None,
        finish_reason: "stop".to_owned(),
    };
    for template in [&prompts.english, &prompts.indonesian] {
        if let Ok(analysis) = validate_answer(prompts, template, &message) {
            assert!(validate_analysis(prompts, template, &analysis).is_ok());
        }
    }
});
