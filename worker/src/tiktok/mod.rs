//! TikTok's web formats: lenient `itemStruct` types, page parsing (universal / reflow / SIGI /
//! NEXT_DATA, WAF challenge, login wall, shell), the one `itemStruct` → `Video` mapper, and the
//! `statusCode` → `ErrorCode` table.

pub mod comment;
pub mod item;
pub mod lenient;
pub mod mapper;
pub mod page;
pub mod status;
pub mod waf;

pub use mapper::{MapContext, MapError, map_item, url_expiry};
pub use page::{PageError, PageVariant, VideoPage, parse_video_page};
pub use status::status_code_error;
pub use waf::{WafChallenge, solve_waf_challenge};
