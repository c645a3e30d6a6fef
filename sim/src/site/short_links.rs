//! Short links (`vm.tiktok.com/{code}/`, `vt.tiktok.com/{code}/`, `www.tiktok.com/t/{code}/`):
//! deterministic codes per post that decode back to the post without a lookup table, and the
//! 301 (HEAD) / 302 (GET) redirects to the canonical URL.

use http::{Method, StatusCode};

use crate::corpus::ids::{self, Domain, Permutation32};

use super::TiktokSite;
use crate::exchange::SimResponse;

/// The three short-link forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShortForm {
    Vm,
    Vt,
    T,
}

impl ShortForm {
    fn prefix(self) -> &'static str {
        match self {
            ShortForm::Vm => "ZM",
            ShortForm::Vt => "ZS",
            ShortForm::T => "ZT",
        }
    }

    fn number(self) -> u64 {
        match self {
            ShortForm::Vm => 0,
            ShortForm::Vt => 1,
            ShortForm::T => 2,
        }
    }
}

/// Keyed permutations for the three forms.
#[derive(Debug)]
pub struct ShortCodes {
    seed: u64,
    vm: Permutation32,
    vt: Permutation32,
    t: Permutation32,
}

impl ShortCodes {
    pub fn new(seed: u64) -> Self {
        ShortCodes {
            seed,
            vm: Permutation32::new(seed, Domain::ShortCodeVm),
            vt: Permutation32::new(seed, Domain::ShortCodeVt),
            t: Permutation32::new(seed, Domain::ShortCodeT),
        }
    }

    fn permutation(&self, form: ShortForm) -> &Permutation32 {
        match form {
            ShortForm::Vm => &self.vm,
            ShortForm::Vt => &self.vt,
            ShortForm::T => &self.t,
        }
    }

    fn check(&self, form: ShortForm, global_index: u32) -> u64 {
        ids::hash3(
            self.seed,
            Domain::ShortCodeCheck,
            u64::from(global_index) * 4 + form.number(),
        )
    }

    /// Whether this post's code of `form` uses the long 2026 style with a `-`.
    fn is_long(form: ShortForm, global_index: u32) -> bool {
        form == ShortForm::Vt && global_index % 4 == 1
    }

    /// The short code of post `global_index` in `form`.
    pub fn code(&self, form: ShortForm, global_index: u32) -> String {
        let permuted = u128::from(self.permutation(form).forward(global_index));
        let check = self.check(form, global_index);
        if Self::is_long(form, global_index) {
            let body =
                ids::base62_fixed((permuted << 60) | u128::from(check & ((1 << 60) - 1)), 16);
            format!("{}{}-{}", form.prefix(), &body[..11], &body[11..])
        } else {
            let body = ids::base62_fixed(permuted * 512 + u128::from(check % 512), 7);
            format!("{}{body}", form.prefix())
        }
    }

    /// The post behind `code`, if it is one of ours.
    pub fn resolve(&self, form: ShortForm, code: &str) -> Option<u32> {
        let body = code.strip_prefix(form.prefix())?;
        let permuted = match body.len() {
            7 => ids::base62_decode(body)? / 512,
            17 if body.as_bytes().get(11) == Some(&b'-') => {
                let joined: String = body.chars().filter(|c| *c != '-').collect();
                ids::base62_decode(&joined)? >> 60
            }
            _ => return None,
        };
        let global_index = self
            .permutation(form)
            .inverse(u32::try_from(permuted).ok()?);
        (self.code(form, global_index) == code).then_some(global_index)
    }
}

/// The `_t` share token of a redirect.
fn share_token(seed: u64, global_index: u32) -> String {
    let value = u128::from(ids::hash3(
        seed,
        Domain::ShortCodeCheck,
        u64::from(global_index) + (1 << 36),
    ));
    format!("ZT-{}", ids::base62_fixed(value, 11))
}

/// Answers a short link: `HEAD` → 301, `GET` → 302 to the canonical URL; unknown → 302 to
/// `/notfound`.
pub fn redirect(
    site: &TiktokSite,
    method: &Method,
    form: ShortForm,
    raw_code: &str,
) -> SimResponse {
    let code = raw_code.trim_end_matches('/');
    let target = site
        .short_codes
        .resolve(form, code)
        .filter(|index| *index < site.corpus.total_posts())
        .and_then(|index| site.corpus.skeleton(index));
    match target {
        Some(skeleton) => {
            let location = format!(
                "{}?_r=1&_t={}",
                site.canonical_url(&skeleton),
                share_token(site.options.seed, skeleton.global_index)
            );
            let status = if method == Method::HEAD {
                StatusCode::MOVED_PERMANENTLY
            } else {
                StatusCode::FOUND
            };
            SimResponse::redirect(status, &location)
        }
        None => SimResponse::redirect(StatusCode::FOUND, "https://www.tiktok.com/notfound"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_reject_strangers() {
        let codes = ShortCodes::new(5);
        for index in [0u32, 1, 2, 5, 999, 123_456] {
            for form in [ShortForm::Vm, ShortForm::Vt, ShortForm::T] {
                let code = codes.code(form, index);
                assert_eq!(codes.resolve(form, &code), Some(index), "{code}");
            }
        }
        let long = codes.code(ShortForm::Vt, 1);
        assert_eq!(long.len(), 19);
        assert!(long.contains('-'));
        assert_eq!(codes.code(ShortForm::Vm, 0).len(), 9);
        assert_eq!(codes.resolve(ShortForm::Vm, "ZMhNotReal1"), None);
        assert_eq!(
            codes.resolve(ShortForm::Vm, &codes.code(ShortForm::T, 3)),
            None
        );
    }
}
