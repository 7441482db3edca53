//! The whole round trip of an incident through the Matrix room, with the service as `serve`
//! runs it and a real Synapse (`synapse/`, started once for this binary): a Zabbix alarm posted
//! to `POST /api/alarms` opens an incident that the bot posts to the room; `!take N` and
//! `!resolve N` typed there by a linked person take and resolve it (read back from
//! `GET /api/incidents`), each answered in the room. Without Synapse the test is skipped with
//! a message, unless `CI` is set, where it fails.

#[macro_use]
mod common;
mod synapse;

use std::time::Duration;

use common::service::{eventually, Service};
use serde_json::Value;
use switchdesk::accounts::Role;
use switchdesk::chat::MatrixConfig;
use switchdesk::config::Secret;
use switchdesk::users;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_reaches_the_room_and_the_room_takes_and_resolves_the_incident() {
    let Some(synapse) = synapse::synapse() else {
        return;
    };
    let bot = synapse.register("deskbot").await;
    let ivan = synapse.register("ivan").await;
    let room_id = synapse.create_room(&ivan, &[&bot]).await;

    let db = common::TestDb::sqlite().await;
    let spool = tempfile::tempdir().unwrap();
    let sim = common::service::simulator(21, Duration::from_secs(1)).await;
    let mut config = common::service::config(&db, &sim, spool.path());
    config.matrix = MatrixConfig {
        homeserver: synapse.url.clone(),
        room: room_id.clone(),
        user_id: bot.user_id.clone(),
        access_token: Secret::new(bot.token.clone()),
        users: [(ivan.user_id.clone(), "ivan".to_owned())].into(),
    };
    users::add_user(&db.store, "ivan", Role::Agent, "a-long-password-1")
        .await
        .unwrap();
    let monitoring = users::add_api_token(&db.store, "zabbix", Role::Supervisor)
        .await
        .unwrap();
    let service = Service::start(config).await;
    let (store, bot_id) = (db.store.clone(), bot.user_id.clone());
    eventually("the bot following the room", async || {
        store.chat_next_batch(&bot_id, &room_id).await.unwrap()
    })
    .await;

    // Zabbix reports a problem: an incident opens and the room hears of it.
    let alarm = std::fs::read_to_string("tests/fixtures/alarms/zabbix_problem.json").unwrap();
    let http = reqwest::Client::new();
    let posted = http
        .post(format!("{}/api/alarms", service.base))
        .bearer_auth(&monitoring)
        .header("content-type", "application/json")
        .body(alarm)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    let incident = |status: &'static str| {
        let (http, base, token) = (http.clone(), service.base.clone(), monitoring.clone());
        async move {
            let listed: Value = http
                .get(format!("{base}/api/incidents"))
                .bearer_auth(&token)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let first = listed["incidents"].as_array()?.first()?.clone();
            (first["status"] == status).then_some(first)
        }
    };
    let opened = eventually("the incident opened", async || incident("open").await).await;
    let number = opened["id"].as_i64().unwrap();
    let told = eventually("the room told of the incident", async || {
        synapse
            .messages(&ivan, &room_id)
            .await
            .into_iter()
            .find(|m| m.sender == bot.user_id && m.body.contains("High CPU utilization"))
    })
    .await;
    assert!(
        told.body.contains(&format!("Incident {number}")),
        "{}",
        told.body
    );

    // Ivan takes it from the room, then resolves it.
    let take = synapse
        .say(&ivan, &room_id, &format!("!take {number}"))
        .await;
    let taken = eventually("the incident taken from the room", async || {
        incident("taken").await
    })
    .await;
    assert_eq!(taken["taken_by"], "ivan", "{taken}");
    eventually("the bot's answer to !take", async || {
        synapse
            .messages(&ivan, &room_id)
            .await
            .into_iter()
            .find(|m| m.reply_to.as_deref() == Some(take.as_str()))
    })
    .await;
    synapse
        .say(&ivan, &room_id, &format!("!resolve {number}"))
        .await;
    let resolved = eventually("the incident resolved from the room", async || {
        incident("resolved").await
    })
    .await;
    assert_eq!(resolved["resolved_by"], "ivan", "{resolved}");
    service.stop().await;
}
