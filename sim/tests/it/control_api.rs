//! Control API round trips: health, CA, request log filters, counters, reset, faults, config,
//! videos, cases, OpenAI knobs, and 400s for bad input.

use reqwest::Method;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn health_and_ca() {
    let sim = start_sim().await;
    let health = get_json(&sim, "/_sim/health").await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["seed"], 11);
    let pem = direct_client()
        .get(format!("{}/_sim/ca.pem", sim.base_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(pem, sim.ca_pem());
}

#[tokio::test]
async fn request_log_filters_counters_and_reset() {
    let sim = start_sim().await;
    let client = proxied_client(&sim);
    let video_list = videos(&sim, 2).await;
    let first = as_http(&video_url(&video_list[0]));
    let second = as_http(&video_url(&video_list[1]));
    client
        .get(&first)
        .header("Referer", "https://www.tiktok.com/")
        .header("Cookie", "a=1; tt_chain_token=x")
        .send()
        .await
        .unwrap();
    client.head(&second).send().await.unwrap();
    let _ = client.get("http://example.net/").send().await.unwrap();

    let all = log_entries(&sim, "").await;
    assert_eq!(all.len(), 3, "{all:?}");
    let seqs: Vec<u64> = all
        .iter()
        .map(|entry| entry["seq"].as_u64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|pair| pair[0] < pair[1]));
    assert_eq!(all[0]["method"], "GET");
    assert_eq!(all[0]["referer"], "https://www.tiktok.com/");
    assert_eq!(all[0]["cookie_names"], json!(["a", "tt_chain_token"]));
    assert_eq!(all[1]["method"], "HEAD");
    assert_eq!(all[1]["bytes"], 0);

    assert_eq!(log_entries(&sim, "method=head").await.len(), 1);
    assert_eq!(log_entries(&sim, "host=example.net").await.len(), 1);
    assert_eq!(log_entries(&sim, "status=403").await.len(), 1);
    assert_eq!(
        log_entries(&sim, &format!("since={}", seqs[1])).await.len(),
        1
    );
    assert_eq!(log_entries(&sim, "limit=2").await.len(), 2);
    let path = first.split("tiktok.com").nth(1).unwrap();
    assert_eq!(
        log_entries(&sim, &format!("path_prefix={path}"))
            .await
            .len(),
        1
    );

    let counters = get_json(&sim, "/_sim/counters").await;
    assert_eq!(counters["routes"]["page"], 2);
    assert_eq!(counters["routes"]["denied"], 1);
    assert_eq!(counters["statuses"]["403"], 1);
    assert!(counters["routes"]["control"].as_u64().unwrap() >= 1);

    let (status, _) = send_json(&sim, Method::POST, "/_sim/reset", &json!({})).await;
    assert_eq!(status, 200);
    assert!(log_entries(&sim, "").await.is_empty());
    let counters = get_json(&sim, "/_sim/counters").await;
    assert!(counters["routes"].get("page").is_none(), "{counters}");
}

#[tokio::test]
async fn fault_rules_add_list_delete() {
    let sim = start_sim().await;
    let builtin = get_json(&sim, "/_sim/faults").await["rules"]
        .as_array()
        .unwrap()
        .len();
    let rule = json!({"match": {"path_prefix": "/api/"}, "fault": "http_503", "probability": 0.5, "times": 3});
    let (status, created) = send_json(&sim, Method::POST, "/_sim/faults", &rule).await;
    assert_eq!(status, 201);
    let id = created["id"].as_u64().unwrap();
    let rules = get_json(&sim, "/_sim/faults").await["rules"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(rules.len(), builtin + 1);
    let added = rules.iter().find(|rule| rule["id"] == id).unwrap();
    assert_eq!(added["origin"], "runtime");
    assert_eq!(added["fault"], "http_503");
    assert_eq!(added["match"], json!({"path_prefix": "/api/"}));

    let response = direct_client()
        .delete(format!("{}/_sim/faults/{id}", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = direct_client()
        .delete(format!("{}/_sim/faults/{id}", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    send_json(&sim, Method::POST, "/_sim/faults", &rule).await;
    send_json(&sim, Method::POST, "/_sim/faults", &rule).await;
    let response = direct_client()
        .delete(format!("{}/_sim/faults", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["removed"],
        2
    );
    assert_eq!(
        get_json(&sim, "/_sim/faults").await["rules"]
            .as_array()
            .unwrap()
            .len(),
        builtin
    );
}

#[tokio::test]
async fn bad_input_to_the_control_api_gets_400_with_a_message() {
    let sim = start_sim().await;
    for (path, body) in [
        ("/_sim/faults", "{not json"),
        (
            "/_sim/faults",
            r#"{"match":{"all":true},"fault":"explode"}"#,
        ),
        (
            "/_sim/faults",
            r#"{"match":{"all":true},"fault":"reset","probability":7}"#,
        ),
        ("/_sim/config", r#"{"latency_ms":"slow"}"#),
    ] {
        let response = direct_client()
            .post(format!("{}{path}", sim.base_url()))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let answer: serde_json::Value = response.json().await.unwrap();
        assert!(!answer["error"].as_str().unwrap().is_empty());
    }
    let response = direct_client()
        .put(format!("{}/_sim/openai/knobs", sim.base_url()))
        .body("[")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    for path in [
        "/_sim/requests?limit=abc",
        "/_sim/videos?offset=-1",
        "/_sim/faults/xyz",
    ] {
        let response = direct_client()
            .request(
                if path.contains("faults") {
                    Method::DELETE
                } else {
                    Method::GET
                },
                format!("{}{path}", sim.base_url()),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{path}");
    }
    let response = direct_client()
        .get(format!("{}/_sim/nope", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let response = direct_client()
        .delete(format!("{}/_sim/health", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn config_videos_cases_and_openai_knobs() {
    let sim = start_sim().await;
    let (status, config) = send_json(
        &sim,
        Method::POST,
        "/_sim/config",
        &json!({"latency_ms": 5, "jitter_ms": 2}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        config,
        json!({"latency_ms": 5, "jitter_ms": 2, "rate_limit_per_second": null})
    );
    let (_, config) = send_json(
        &sim,
        Method::POST,
        "/_sim/config",
        &json!({"rate_limit_per_second": 3}),
    )
    .await;
    assert_eq!(config["rate_limit_per_second"], 3);
    assert_eq!(
        get_json(&sim, "/_sim/config").await,
        json!({"latency_ms": 5, "jitter_ms": 2, "rate_limit_per_second": 3})
    );
    let (_, config) = send_json(
        &sim,
        Method::POST,
        "/_sim/config",
        &json!({"rate_limit_per_second": 0}),
    )
    .await;
    assert_eq!(config["rate_limit_per_second"], serde_json::Value::Null);

    let page = get_json(&sim, "/_sim/videos?limit=7&offset=3").await;
    assert_eq!(page["videos"].as_array().unwrap().len(), 7);
    assert_eq!(page["offset"], 3);

    let cases = get_json(&sim, "/_sim/cases").await["cases"]
        .as_array()
        .unwrap()
        .clone();
    for name in [
        "fault_http_429",
        "fault_http_403",
        "fault_http_500",
        "fault_empty_200",
        "fault_reset",
        "fault_hang",
        "fault_truncate",
        "fault_challenge",
        "fault_login_wall",
        "fault_layout_change",
    ] {
        let case = cases
            .iter()
            .find(|case| case["name"] == name)
            .unwrap_or_else(|| panic!("{name}"));
        assert!(case["status_code"].is_null());
        assert!(
            case["url"]
                .as_str()
                .unwrap()
                .starts_with("https://www.tiktok.com/")
        );
    }
    assert!(
        cases.iter().any(|case| case["status_code"] == 10204),
        "status cases listed"
    );

    let mut knobs = get_json(&sim, "/_sim/openai/knobs").await;
    knobs["api_key"] = json!("sk-test");
    let (status, echoed) = send_json(&sim, Method::PUT, "/_sim/openai/knobs", &knobs).await;
    assert_eq!(status, 200);
    assert_eq!(echoed["api_key"], "sk-test");
    assert_eq!(
        get_json(&sim, "/_sim/openai/knobs").await["api_key"],
        "sk-test"
    );
}

#[tokio::test]
async fn openai_requests_are_routed_and_logged() {
    let sim = start_sim().await;
    let response = direct_client()
        .post(format!("{}/v1/chat/completions", sim.base_url()))
        .header("Authorization", "Bearer sk-any")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_client_error(),
        "an empty completion request is refused by the model"
    );
    let entries = log_entries(&sim, "path_prefix=/v1/").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["route"], "openai");
}

/// `creator/item_list` (answered unsigned) of `unique_id`: the ids of its newest posts.
async fn newest_post_ids(sim: &tokworks_sim::server::SimHandle, unique_id: &str) -> Vec<String> {
    let body: serde_json::Value = proxied_client(sim)
        .get(format!(
            "http://www.tiktok.com/api/creator/item_list/?uniqueId={unique_id}&count=5&cursor=0&type=1"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["itemList"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| item["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn an_added_post_is_newest_in_its_users_list_has_a_page_and_goes_on_reset() {
    let sim = start_sim().await;
    let video = videos(&sim, 1).await.remove(0);
    let url = video_url(&video);
    let unique_id = url
        .split("/@")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let before = newest_post_ids(&sim, &unique_id).await;
    assert!(!before.is_empty());

    let (status, created) = send_json(
        &sim,
        Method::POST,
        "/_sim/posts",
        &json!({ "user": unique_id, "hashtag": "food" }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 19);
    assert!(
        before
            .iter()
            .all(|old| old.parse::<u64>().unwrap() < id.parse::<u64>().unwrap())
    );
    assert_eq!(
        created["url"],
        format!("https://www.tiktok.com/@{unique_id}/video/{id}")
    );
    let after = newest_post_ids(&sim, &unique_id).await;
    assert_eq!(after.first(), Some(&id), "{after:?}");
    assert_eq!(&after[1..], &before[..after.len() - 1]);

    let page = proxied_client(&sim)
        .get(as_http(created["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains(&id));

    let (status, several) = send_json(
        &sim,
        Method::POST,
        "/_sim/posts",
        &json!([{ "hashtag": "food" }, { "sound": "7000000000000000001" }]),
    )
    .await;
    assert_eq!(status, 201, "{several}");
    assert_eq!(several["posts"].as_array().unwrap().len(), 2);
    for bad in [
        json!({}),
        json!({ "user": "nosuchuser_sim_0" }),
        json!({ "hashtag": "nosuchtagsim" }),
        json!({ "sound": "abc" }),
        json!({ "video": "1" }),
    ] {
        let (status, _) = send_json(&sim, Method::POST, "/_sim/posts", &bad).await;
        assert_eq!(status, 400, "{bad}");
    }

    let (status, _) = send_json(&sim, Method::POST, "/_sim/reset", &json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(newest_post_ids(&sim, &unique_id).await, before);
}
