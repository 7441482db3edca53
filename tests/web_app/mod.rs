//! The service's real router on a real socket, for the HTTP tests (`web.rs`,
//! `web_security.rs`): a SQLite store of its own (or a scenario's database on either backend),
//! and a plain HTTP client that sends `Origin` as the dashboard's own page would and handles
//! the session cookie by hand.

// Each test binary uses only part of it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, ORIGIN, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use switchdesk::config::Config;
use switchdesk::directory::PhoneBook;
use switchdesk::metrics::Metrics;
use switchdesk::store::Store;
use switchdesk::users::{self, Role};
use switchdesk::web::{self};
use tokio::sync::oneshot;

use crate::common::TestDb;

pub const MAX_BODY: usize = 4096;

pub struct App {
    pub base: String,
    pub client: Client,
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub stop: Option<oneshot::Sender<()>>,
    pub served: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub _db: Option<TestDb>,
}

impl App {
    /// The service on a SQLite database of its own.
    pub async fn start() -> App {
        App::start_with(|_| {}).await
    }

    /// Starts with the test's own settings on top of the usual ones.
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> App {
        let db = TestDb::sqlite().await;
        let mut app = App::on_with(&db.store, &db.url, configure).await;
        app._db = Some(db);
        app
    }

    /// The service on a scenario's database (see `on_both_backends!`).
    pub async fn on(store: &Store, url: &str) -> App {
        App::on_with(store, url, |_| {}).await
    }

    pub async fn on_with(store: &Store, url: &str, configure: impl FnOnce(&mut Config)) -> App {
        let mut config = Config::default();
        config.database.url = switchdesk::config::Secret::new(url.to_owned());
        config.http.max_body_bytes = MAX_BODY;
        config.phonebook.default_region = Some("RU".into());
        configure(&mut config);
        let phonebook = Arc::new(PhoneBook::new(config.phonebook.numbering().unwrap()));
        let state = switchdesk::service::state_without_switch(config, store, phonebook)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let metrics = state.metrics.clone();
        let served = tokio::spawn(web::serve(listener, state, async {
            let _ = stopped.await;
        }));
        // As a browser on the dashboard's own page: `Origin` on every request.
        let mut origin = reqwest::header::HeaderMap::new();
        origin.insert(ORIGIN, base.parse().unwrap());
        App {
            client: Client::builder().default_headers(origin).build().unwrap(),
            base,
            store: store.clone(),
            metrics,
            stop: Some(stop),
            served,
            _db: None,
        }
    }

    pub async fn add_user(&self, name: &str, role: Role) {
        users::add_user(&self.store, name, role, &format!("{name}-password"))
            .await
            .unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str, credential: Option<&str>) -> Response {
        with(self.client.get(self.url(path)), credential)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, credential: Option<&str>, body: Value) -> Response {
        with(self.client.post(self.url(path)), credential)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn put(&self, path: &str, credential: Option<&str>, body: Value) -> Response {
        with(self.client.put(self.url(path)), credential)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch(&self, path: &str, credential: Option<&str>, body: Value) -> Response {
        with(self.client.patch(self.url(path)), credential)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str, credential: Option<&str>) -> Response {
        with(self.client.delete(self.url(path)), credential)
            .send()
            .await
            .unwrap()
    }

    pub async fn try_login(&self, name: &str, password: &str) -> Response {
        let body = json!({ "name": name, "password": password });
        self.post("/api/login", None, body).await
    }

    /// Signs in and returns the `Cookie` header value for later requests.
    pub async fn login(&self, name: &str) -> String {
        let response = self.try_login(name, &format!("{name}-password")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
        set_cookie.split(';').next().unwrap().to_string()
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let served = tokio::time::timeout(Duration::from_secs(5), &mut self.served)
            .await
            .expect("server stops promptly");
        served.unwrap().unwrap();
    }
}

/// `Some("cookie=...")` is sent as a cookie, `Some("sdk_...")` as a bearer token.
pub fn with(request: reqwest::RequestBuilder, credential: Option<&str>) -> reqwest::RequestBuilder {
    match credential {
        Some(token) if token.starts_with("sdk_") => {
            request.header(AUTHORIZATION, format!("Bearer {token}"))
        }
        Some(cookie) => request.header(COOKIE, cookie),
        None => request,
    }
}

/// Asserts the status and the JSON error shape, returning the body.
pub async fn expect_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    body
}
