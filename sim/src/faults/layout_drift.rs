//! The `layout_change` fault: what a TikTok layout change does to an answer. An HTML page loses
//! its `__UNIVERSAL_DATA_FOR_REHYDRATION__` script; a JSON API answer (the feed APIs under
//! `/api/`) keeps its envelope with `statusCode` 0 but its payload drifts the way TikTok's does:
//! every `itemList` item has `id` renamed to `itemId` and `author` to `authorInfo`, and the detail
//! payloads (`challengeInfo`, `userInfo`, `itemInfo`, …) get a `V2` suffix.

use bytes::Bytes;
use http::header;
use serde_json::{Map, Value};

use crate::exchange::SimResponse;

/// Top-level keys of the web API envelope that a layout change leaves alone.
const ENVELOPE_KEYS: [&str; 12] = [
    "extra",
    "log_pb",
    "statusCode",
    "status_code",
    "status_msg",
    "statusMsg",
    "hasMore",
    "has_more",
    "hasMorePrevious",
    "cursor",
    "itemList",
    "item_list",
];

/// Applies the layout change to a response of the site: JSON answers drift, HTML pages lose
/// their rehydration script; anything else (an empty 200, a redirect) passes unchanged.
pub fn apply_layout_change(response: &mut SimResponse) {
    let is_json = response
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if is_json {
        if let Some(drifted) = drift_json_answer(&response.body) {
            response.body = drifted;
        }
    } else {
        response.body = remove_rehydration_script(&response.body);
    }
}

/// The drifted form of a JSON object answer; `None` when the body is not a JSON object (for
/// example the empty 200 of an unsigned request).
pub fn drift_json_answer(body: &Bytes) -> Option<Bytes> {
    let Ok(Value::Object(mut answer)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    for list_key in ["itemList", "item_list"] {
        if let Some(Value::Array(items)) = answer.get_mut(list_key) {
            for item in items.iter_mut() {
                if let Value::Object(fields) = item {
                    rename(fields, "id", "itemId");
                    rename(fields, "author", "authorInfo");
                }
            }
        }
    }
    let payload_keys: Vec<String> = answer
        .iter()
        .filter(|(key, value)| value.is_object() && !ENVELOPE_KEYS.contains(&key.as_str()))
        .map(|(key, _)| key.clone())
        .collect();
    for key in payload_keys {
        rename(&mut answer, &key, &format!("{key}V2"));
    }
    Some(Bytes::from(Value::Object(answer).to_string()))
}

fn rename(fields: &mut Map<String, Value>, from: &str, to: &str) {
    if let Some(value) = fields.remove(from) {
        fields.insert(to.to_string(), value);
    }
}

/// The page with every `<script …id="__UNIVERSAL_DATA_FOR_REHYDRATION__"…>…</script>` removed.
pub fn remove_rehydration_script(body: &Bytes) -> Bytes {
    const MARKER: &str = "__UNIVERSAL_DATA_FOR_REHYDRATION__";
    let Ok(mut html) = String::from_utf8(body.to_vec()) else {
        return body.clone();
    };
    while let Some(marker) = html.find(MARKER) {
        let Some(start) = html[..marker].rfind("<script") else {
            break;
        };
        let Some(end) = html[marker..]
            .find("</script>")
            .map(|offset| marker + offset + "</script>".len())
        else {
            break;
        };
        html.replace_range(start..end, "");
    }
    Bytes::from(html)
}

#[cfg(test)]
mod tests {
    use http::StatusCode;
    use serde_json::json;

    use super::*;

    #[test]
    fn an_item_list_answer_keeps_its_envelope_but_its_items_lose_id_and_author() {
        let answer = json!({
            "statusCode": 0, "status_code": 0, "hasMore": true, "cursor": "30",
            "extra": {"logid": "x"},
            "itemList": [
                {"id": "7454730070402848956", "author": {"uniqueId": "a"}, "desc": "one"},
                {"id": "7454730070402848957", "author": {"uniqueId": "b"}, "desc": "two"}
            ]
        });
        let mut response = SimResponse::json(StatusCode::OK, &answer);
        apply_layout_change(&mut response);
        let drifted: Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(drifted["statusCode"], json!(0));
        assert_eq!(drifted["hasMore"], json!(true));
        assert_eq!(drifted["cursor"], json!("30"));
        assert_eq!(drifted["extra"], json!({"logid": "x"}));
        let items = drifted["itemList"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        for (item, id) in items
            .iter()
            .zip(["7454730070402848956", "7454730070402848957"])
        {
            assert!(
                item.get("id").is_none() && item.get("author").is_none(),
                "{item}"
            );
            assert_eq!(item["itemId"], json!(id));
            assert!(item["authorInfo"]["uniqueId"].is_string());
            assert!(item["desc"].is_string());
        }
    }

    #[test]
    fn a_detail_answer_gets_its_payload_renamed() {
        let answer = json!({"statusCode": 0, "challengeInfo": {"challenge": {"id": "5"}}});
        let drifted: Value =
            serde_json::from_slice(&drift_json_answer(&Bytes::from(answer.to_string())).unwrap())
                .unwrap();
        assert_eq!(
            drifted,
            json!({"statusCode": 0, "challengeInfoV2": {"challenge": {"id": "5"}}})
        );
    }

    #[test]
    fn an_empty_json_200_and_html_pages_are_handled_as_before() {
        let mut empty =
            SimResponse::with_body(StatusCode::OK, "application/json; charset=utf-8", "");
        apply_layout_change(&mut empty);
        assert!(empty.body.is_empty());
        let mut page = SimResponse::html(
            StatusCode::OK,
            "<p>a</p><script id=\"__UNIVERSAL_DATA_FOR_REHYDRATION__\">{}</script><p>b</p>",
        );
        apply_layout_change(&mut page);
        assert_eq!(&page.body[..], b"<p>a</p><p>b</p>");
    }

    #[test]
    fn removes_rehydration_script() {
        let page = Bytes::from_static(
            b"<html><script src=a></script><script id=\"__UNIVERSAL_DATA_FOR_REHYDRATION__\" type=\"application/json\">{}</script><p>x</p></html>",
        );
        assert_eq!(
            &remove_rehydration_script(&page)[..],
            b"<html><script src=a></script><p>x</p></html>"
        );
    }
}
