//! A flood of wrong sign-ins against the real server. Its own test binary: the password-hashing
//! threads belong to the process, so nothing else may be signing in while they are counted.

mod common;

use std::sync::Arc;

use reqwest::StatusCode;
use switchdesk::config::Config;
use switchdesk::directory::number::Numbering;
use switchdesk::directory::PhoneBook;
use switchdesk::users::{self, Role};

/// The process's threads named like the hashing threads (the kernel keeps 15 bytes of a name).
#[cfg(target_os = "linux")]
fn hashing_threads() -> usize {
    let name = &users::HASHING_THREAD[..users::HASHING_THREAD.len().min(15)];
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

#[cfg(target_os = "linux")]
fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// 300 wrong sign-ins at once, each for its own name from its own address (so no back-off
/// stops them before the hashing queue), then 40 in turn: every one is answered 401 or 429,
/// the hashes run on the configured two threads and no more, resident memory stays within
/// bounds, and a right password signs in afterwards.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sign_in_flood_is_hashed_by_a_fixed_set_of_threads() {
    // The pool is the process's: sized by whoever starts it first (`main` does, from the
    // configuration), so here before anything hashes.
    users::start_hashing(2, 8);
    let db = common::TestDb::sqlite().await;
    let mut config = Config::default();
    config.database.url = switchdesk::config::Secret::new(db.url.clone());
    config.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    config.http.login_workers = 2;
    config.http.login_queue = 8;
    let phonebook = Arc::new(PhoneBook::new(Numbering::new("RU").unwrap()));
    let state = switchdesk::service::state_without_switch(config, &db.store, phonebook)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(switchdesk::web::serve(listener, state, async {
        let _ = stopped.await;
    }));
    users::add_user(&db.store, "alice", Role::Agent, "alice-password")
        .await
        .unwrap();

    let before = resident_kib();
    let client = reqwest::Client::new();
    let flood: Vec<_> = (0..300u32)
        .map(|n| {
            let request = client
                .post(format!("{base}/api/login"))
                .header("x-forwarded-for", format!("10.{}.{}.1", n / 256, n % 256))
                .json(&serde_json::json!({ "name": format!("guess{n}"), "password": "wrong-password" }));
            tokio::spawn(async move { request.send().await.unwrap().status() })
        })
        .collect();
    let mut refused = 0;
    for request in flood {
        let status = request.await.unwrap();
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS,
            "{status}"
        );
        refused += usize::from(status == StatusCode::TOO_MANY_REQUESTS);
    }
    // Then a steady stream, every one hashed.
    for n in 0..40u32 {
        let wrong = client
            .post(format!("{base}/api/login"))
            .header("x-forwarded-for", format!("172.16.0.{n}"))
            .json(
                &serde_json::json!({ "name": format!("steady{n}"), "password": "wrong-password" }),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(hashing_threads(), 2);
    let after = resident_kib();
    eprintln!(
        "300 wrong sign-ins at once ({refused} refused as busy), then 40 in turn: resident {} MiB -> {} MiB",
        before / 1024,
        after / 1024
    );
    // Two threads' working memory is ~38 MiB; hashing in fresh memory each time kept ~200 MiB
    // per thread, so this bound tells the two apart with room to spare.
    assert!(
        after.saturating_sub(before) < 128 * 1024,
        "resident memory grew from {before} KiB to {after} KiB"
    );

    let right = client
        .post(format!("{base}/api/login"))
        .header("x-forwarded-for", "192.0.2.1")
        .json(&serde_json::json!({ "name": "alice", "password": "alice-password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    let _ = stop.send(());
    served.await.unwrap().unwrap();
}
