//! The web dashboard at `/ui`: plain HTML, CSS and JavaScript modules built into the binary with
//! `include_str!` (no CDN, no build step, works offline). The page asks for an API key and keeps
//! it in the tab's `sessionStorage`; every call it makes is an ordinary API call with `x-api-key`.
//! These routes need no key and sit outside the per-key rate limiter (see `router::router`).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use tokworks_shared::db::feed_walks::FeedStopCode;
use tokworks_shared::error_code::ErrorCode;

use crate::problem::ApiError;

/// Where the dashboard is served.
pub const UI_PATH: &str = "/ui";

/// Only the api's own origin: scripts, styles, fonts and frames from anywhere else (a CDN
/// included) are refused by the browser; covers come as blob URLs made from API responses.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' blob: data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One file of the dashboard.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: fn() -> &'static str,
}

const INDEX: Asset = Asset {
    name: "index.html",
    content_type: "text/html; charset=utf-8",
    body: || include_str!("assets/index.html"),
};

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// Every file under `/ui/`.
const ASSETS: &[Asset] = &[
    INDEX,
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: || include_str!("assets/app.css"),
    },
    Asset {
        name: "app.js",
        content_type: JAVASCRIPT,
        body: || include_str!("assets/app.js"),
    },
    Asset {
        name: "api.js",
        content_type: JAVASCRIPT,
        body: || include_str!("assets/api.js"),
    },
    Asset {
        name: "dom.js",
        content_type: JAVASCRIPT,
        body: || include_str!("assets/dom.js"),
    },
    Asset {
        name: "error_codes.js",
        content_type: JAVASCRIPT,
        body: error_codes_js,
    },
    Asset {
        name: "jobs.js",
        content_type: JAVASCRIPT,
        body: || include_str!("assets/jobs.js"),
    },
    Asset {
        name: "job.js",
        content_type: JAVASCRIPT,
        body: || include_str!("assets/job.js"),
    },
    Asset {
        name: "watches.js",
        content_type: JAVASCRIPT,
        body: || include_str!("assets/watches.js"),
    },
    Asset {
        name: "items.js",
        content_type: JAVASCRIPT,
        body: || include_str!("assets/items.js"),
    },
    Asset {
        name: "submit.js",
        content_type: JAVASCRIPT,
        body: || include_str!("assets/submit.js"),
    },
    Asset {
        name: "stats.js",
        content_type: JAVASCRIPT,
        body: || include_str!("assets/stats.js"),
    },
];

/// `/ui`, `/ui/` (the page) and `/ui/{file}` (its files).
pub fn ui_routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(UI_PATH, get(get_index))
        .route("/ui/", get(get_index))
        .route("/ui/{file}", get(get_asset))
}

async fn get_index() -> Response {
    asset_response(&INDEX)
}

async fn get_asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|asset| asset.name == file) {
        Some(asset) => asset_response(asset),
        None => ApiError::RouteNotFound.into_response(),
    }
}

fn asset_response(asset: &Asset) -> Response {
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        // Small files; a new binary must never be served stale ones.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
    ];
    (StatusCode::OK, headers, (asset.body)()).into_response()
}

/// `error_codes.js`: the meaning of every code the page shows, made from `shared::error_code`
/// (and the few codes that are not item errors) so the page cannot drift from the API.
fn error_codes_js() -> &'static str {
    static SCRIPT: LazyLock<String> = LazyLock::new(|| {
        let mut table: BTreeMap<&str, &str> = ErrorCode::ALL
            .iter()
            .map(|code| (code.as_str(), code.description()))
            .collect();
        table.insert(
            "JOB_EXPIRED",
            "The job is older than the retention period; its items are deleted.",
        );
        table.insert(
            FeedStopCode::COUNT_REACHED,
            "The feed gave the requested number of videos.",
        );
        table.insert(FeedStopCode::NO_MORE, "The feed has no more videos.");
        format!(
            "// The stable error codes of items and jobs with their meaning (made by the api \
             from its own table).\n\nexport const ERROR_CODES = {};\n\n{}",
            serde_json::to_string_pretty(&table).unwrap_or_else(|_| "{}".to_owned()),
            include_str!("assets/error_codes.js")
        )
    });
    SCRIPT.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_knows_the_meaning_of_every_error_code() {
        let script = error_codes_js();
        for code in ErrorCode::ALL {
            assert!(
                script.contains(&format!("\"{}\": {:?}", code.as_str(), code.description())),
                "{code:?}"
            );
        }
        assert!(script.contains("export function meaning(code)"));
    }

    #[test]
    fn every_module_the_page_imports_is_served() {
        let served: Vec<&str> = ASSETS.iter().map(|asset| asset.name).collect();
        for asset in ASSETS {
            let body = (asset.body)();
            for (index, _) in body.match_indices("from './") {
                let rest = &body[index + "from './".len()..];
                let name = rest.split('\'').next().unwrap_or_default();
                assert!(served.contains(&name), "{} imports {name}", asset.name);
            }
        }
    }

    #[test]
    fn no_asset_loads_anything_from_another_origin() {
        for asset in ASSETS {
            let needles = [
                "src=\"http",
                "href=\"http",
                "src=\"//",
                "href=\"//",
                "from 'http",
                "import('http",
                "fetch('http",
                "url(http",
                "url(\"http",
                "@import",
            ];
            for needle in needles {
                assert!(
                    !(asset.body)().contains(needle),
                    "{} contains {needle}",
                    asset.name
                );
            }
        }
    }
}
