//! Every screen an admin can open, in each language, at desktop and at phone size, in a real
//! headless Chromium against `switchdesk demo`. Each is kept as a screenshot
//! (`target/screenshots/tour-VIEW-LANG-SIZE.png`, to be looked at) and checked: the view is
//! the one asked for, in the language asked for, no English is left on a Russian screen, and
//! on a phone nothing is wider than the screen (wide tables scroll inside their cards).

mod browser;

use std::time::Duration;

use browser::demo::{demo, PASSWORD};
use browser::{Browser, UNTRANSLATED};
use serde_json::{json, Value};

/// `(name, width, height, mobile)` of the sizes every screen is seen at.
const SIZES: [(&str, u32, u32, bool); 2] =
    [("desktop", 1366, 900, false), ("phone", 390, 844, true)];

/// How much wider than the screen a page is (0 when it fits), and what sticks out.
const OVERFLOW: &str = "(() => { const width = document.documentElement.clientWidth; \
    const wide = [...document.querySelectorAll('body *')].filter(e => e.offsetParent !== null \
        && e.getBoundingClientRect().right > width + 1 && !e.closest('.scroll, pre, svg')) \
      .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : '')); \
    return { over: Math.max(0, document.documentElement.scrollWidth - width), wide }; })()";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_in_each_language_at_desktop_and_phone_size() {
    let Some(mut admin) = Browser::launch().await else {
        return;
    };
    let demo = demo().await;
    admin.sign_in(&demo.base, "ada", PASSWORD).await;
    let views = admin
        .wait_for(
            "the admin's screens",
            "document.querySelectorAll('#nav a').length > 0 \
             && [...document.querySelectorAll('#nav a')].map(a => a.dataset.view)",
        )
        .await;
    let views: Vec<String> = views
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    for expected in ["wallboard", "manager", "admin", "calls", "faxes", "status"] {
        assert!(
            views.iter().any(|v| v == expected),
            "{expected} in {views:?}"
        );
    }
    let mut problems = Vec::new();
    for language in ["en", "ru"] {
        let chosen = admin
            .eval(&format!(
                "fetch('/api/me/language', {{ method: 'PUT', headers: {{ 'Content-Type': 'application/json' }}, \
                   body: JSON.stringify({{ language: {language:?} }}) }}).then(r => r.status)"
            ))
            .await;
        assert_eq!(chosen, json!(200), "{language}");
        // The page reads the language as it loads.
        admin
            .eval("setTimeout(() => location.reload(), 0); true")
            .await;
        admin
            .wait_for(
                &format!("the page in {language}"),
                &format!("document.documentElement?.lang === {language:?} && !!document.querySelector('#nav a')"),
            )
            .await;
        for (size, width, height, mobile) in SIZES {
            admin
                .call(
                    "Emulation.setDeviceMetricsOverride",
                    json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
                )
                .await;
            for view in &views {
                admin.goto(&format!("{}/#{view}", demo.base)).await;
                admin
                    .wait_for(
                        &format!("{view} in {language} at {size} size"),
                        &format!(
                            "document.body.dataset.view === {view:?} \
                             && document.documentElement.lang === {language:?}"
                        ),
                    )
                    .await;
                // What the view loads arrives (lists, reports, the live feed's snapshot).
                tokio::time::sleep(Duration::from_millis(1500)).await;
                admin
                    .screenshot(&format!("tour-{view}-{language}-{size}"))
                    .await;
                if language != "en" {
                    let left = admin.eval(UNTRANSLATED).await;
                    if left != json!([]) {
                        problems.push(format!("{view} ({language}, {size}): English left: {left}"));
                    }
                }
                if mobile {
                    let overflow: Value = admin.eval(OVERFLOW).await;
                    if overflow["over"].as_f64().unwrap_or(0.0) > 0.0 {
                        problems.push(format!(
                            "{view} ({language}, phone): wider than the screen: {overflow}"
                        ));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
