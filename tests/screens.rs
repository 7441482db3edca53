//! The screens in a real headless Chromium against `switchdesk demo` (the binary, with its
//! simulated switch and synthetic callers): a supervisor watches waiting callers appear and
//! move up on the wallboard; an agent goes available and the pop-up with the caller's
//! organization appears while the phone rings; a user without the supervisor role cannot open
//! the wallboard's feed; an admin imports a phone-book file with a column map and sees the
//! rows saved with a warning and the columns not read, edits a queue's settings field by field
//! (overflow target, max wait, a prompt) and sees them round-trip, makes and revokes an API
//! token, and opens the audit log to find a supervisor's change and a failed sign-in.
//! Screenshots are kept under `target/screenshots/`.

mod browser;

use std::time::Duration;

use browser::demo::{demo, PASSWORD};
use browser::{Browser, UNTRANSLATED};
use serde_json::Value;

/// Put in the agent's page before its scripts: notifications allowed, and every notification,
/// tone and title the page makes recorded in `window.__rang`.
const RECORD_RINGS: &str = "window.__rang = { notifications: [], closed: 0, tones: 0, titles: [] }; \
    window.Notification = class { \
      static permission = 'granted'; \
      static requestPermission() { return Promise.resolve('granted'); } \
      constructor(title, options = {}) { window.__rang.notifications.push({ title, body: options.body, tag: options.tag }); } \
      close() { window.__rang.closed += 1; } }; \
    const oscillator = AudioContext.prototype.createOscillator; \
    AudioContext.prototype.createOscillator = function () { \
      if (this.state === 'running') window.__rang.tones += 1; return oscillator.call(this); }; \
    const title = Object.getOwnPropertyDescriptor(Document.prototype, 'title'); \
    Object.defineProperty(document, 'title', { get() { return title.get.call(this); }, \
      set(value) { window.__rang.titles.push(value); title.set.call(this, value); } });";

/// Signs `name` in over the API (as a script would); the `Cookie` header value of the session.
async fn session_cookie(client: &reqwest::Client, base: &str, name: &str) -> String {
    let signed_in = client
        .post(format!("{base}/api/login"))
        .json(&serde_json::json!({"name": name, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), reqwest::StatusCode::OK);
    signed_in.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// The waiting callers the wallboard shows: (call, position).
async fn waiting(browser: &mut Browser) -> Vec<(String, u64)> {
    let rows = browser
        .eval(
            "[...document.querySelectorAll('#wallboard [data-call]')].map(row => \
             [row.dataset.call, Number(row.querySelector('.position')?.textContent.replace(/\\D/g, '') || 0)])",
        )
        .await;
    rows.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap_or("").to_owned(),
                pair[1].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_screens_in_a_real_browser() {
    let Some(mut supervisor) = Browser::launch().await else {
        return;
    };
    let demo = demo().await;

    // A supervisor: waiting callers appear on the wallboard, then move up.
    supervisor.sign_in(&demo.base, "sue", PASSWORD).await;
    supervisor
        .wait_for(
            "the wallboard, live",
            "document.body.dataset.view === 'wallboard' && document.body.dataset.feed === 'connected' \
             && !!document.querySelector('#wallboard section[data-queue=\"support\"]')",
        )
        .await;
    supervisor
        .wait_for_up_to(
            "three waiting callers",
            "document.querySelectorAll('#wallboard [data-call]').length >= 3",
            Duration::from_secs(90),
        )
        .await;
    supervisor.screenshot("wallboard").await;
    let before = waiting(&mut supervisor).await;
    let (call, position) = before
        .iter()
        .max_by_key(|(_, position)| *position)
        .cloned()
        .unwrap();
    assert!(position >= 2, "{before:?}");
    let moved = format!(
        "(() => {{ const row = document.querySelector('#wallboard [data-call=\"{call}\"]'); \
         if (!row) return 'gone'; \
         const now = Number(row.querySelector('.position').textContent.replace(/\\D/g, '')); \
         return now < {position} ? 'moved' : false; }})()"
    );
    let how = supervisor
        .wait_for_up_to("the caller to move up", &moved, Duration::from_secs(150))
        .await;
    assert!(matches!(how.as_str(), Some("moved" | "gone")), "{how}");
    let figures = supervisor
        .eval("document.querySelector('[data-counter=\"offered\"]')?.textContent ?? ''")
        .await;
    assert!(
        figures
            .as_str()
            .is_some_and(|t| t.chars().any(|c| c.is_ascii_digit())),
        "offered shows a number: {figures}"
    );
    supervisor.screenshot("wallboard-moved").await;
    drop(supervisor);

    // An agent: available, and the pop-up with the caller's organization while it rings,
    // with the ring heard and shown: the page's notifications and tones are recorded by a
    // script put in through the DevTools protocol (the notification permission granted).
    let mut agent = Browser::launch().await.unwrap();
    agent
        .call(
            "Page.addScriptToEvaluateOnNewDocument",
            serde_json::json!({"source": RECORD_RINGS}),
        )
        .await;
    agent.sign_in(&demo.base, "agent1001", PASSWORD).await;
    agent
        .wait_for(
            "the agent desktop, live",
            "document.body.dataset.view === 'agent' && document.body.dataset.feed === 'connected' \
             && !!document.querySelector('#go-available')",
        )
        .await;
    agent
        .eval("document.querySelector('#go-break').click(); true")
        .await;
    agent
        .wait_for(
            "on break",
            "/break/i.test(document.querySelector('#agent-status')?.textContent ?? '')",
        )
        .await;
    // A click on the page lets it make sound (a user gesture, as the browser requires).
    assert!(agent.click_as_a_user().await, "the page took the click");
    assert!(
        agent
            .eval("document.querySelector('#ring-setup').hidden")
            .await
            .as_bool()
            .unwrap_or(false),
        "no need to ask: notifications are allowed"
    );
    agent
        .eval("document.querySelector('#go-available').click(); true")
        .await;
    let rang = agent
        .wait_for_up_to(
            "the phone to ring on the desktop",
            "document.body.dataset.ringing === 'true' && window.__rang.notifications.length > 0 \
             && !document.querySelector('#popup').hidden \
             && document.querySelector('#popup').dataset.call === window.__rang.notifications.at(-1).tag \
             && { title: document.title, tones: window.__rang.tones, notification: window.__rang.notifications.at(-1), \
                  first: document.querySelector('#agent-desktop > section:not([hidden])')?.id ?? '', \
                  call: document.querySelector('#popup')?.dataset.call ?? '', \
                  activity: document.querySelector('#agent-activity')?.dataset.activity ?? '' }",
            Duration::from_secs(180),
        )
        .await;
    assert_eq!(rang["activity"], "ringing", "{rang}");
    assert_eq!(rang["notification"]["title"], "☎ Incoming call", "{rang}");
    let flashed = agent
        .wait_for(
            "the title to flash",
            "window.__rang.titles.some(t => t.startsWith('☎')) && window.__rang.titles.some(t => t === 'switchdesk') \
             && window.__rang.tones > 0 && window.__rang.tones",
        )
        .await;
    assert!(
        flashed.as_u64().unwrap_or(0) >= 2,
        "two tones a ring: {flashed}"
    );
    {
        // The pop-up is the desktop's first card, tagged with the notification's call.
        assert_eq!(rang["first"], "popup", "{rang}");
        assert_eq!(rang["notification"]["tag"], rang["call"], "{rang}");
        let confidence = agent
            .eval(
                "({ match: document.querySelector('#popup-match')?.dataset.confidence ?? '', \
                    book: document.querySelector('#popup-book').hidden })",
            )
            .await;
        let known = matches!(confidence["match"].as_str(), Some("exact" | "organization"));
        assert!(
            known || matches!(confidence["match"].as_str(), Some("fuzzy" | "unknown")),
            "{confidence}"
        );
        assert_eq!(
            confidence["book"], known,
            "add/link offered only for a caller not sure: {confidence}"
        );
    }
    let popup = agent
        .wait_for_up_to(
            "the pop-up with an organization while the phone rings",
            "(() => { const popup = document.querySelector('#popup'); \
             const org = popup?.querySelector('.organization')?.textContent.trim(); \
             const activity = document.querySelector('#agent-activity')?.textContent ?? ''; \
             return popup && !popup.hidden && org && /ring/i.test(activity) \
               ? { org, number: popup.querySelector('.caller-number')?.textContent ?? '', \
                   contact: popup.querySelector('.popup-name .contact')?.textContent.trim() ?? '', \
                   call: popup.dataset.call ?? '', \
                   tickets: [...popup.querySelectorAll('#popup-tickets li')].map(li => li.dataset.ticket \
                     ? { id: li.dataset.ticket, shown: li.querySelector('.ticket-id')?.textContent ?? '', \
                         subject: li.querySelector('.subject')?.textContent ?? '' } \
                     : { none: li.textContent }) } : false; })()",
            Duration::from_secs(180),
        )
        .await;
    agent.screenshot("agent-popup").await;
    // Answered (or missed), the phone stops ringing: no sound, the title back, the
    // notification closed.
    let quiet = agent
        .wait_for_up_to(
            "the ring to stop",
            "document.querySelector('#agent-activity')?.dataset.activity !== 'ringing' \
             && !document.body.dataset.ringing && document.title === 'switchdesk' && window.__rang.closed > 0",
            Duration::from_secs(60),
        )
        .await;
    assert_eq!(quiet, true);
    assert!(
        popup["org"].as_str().is_some_and(|o| !o.is_empty()),
        "{popup}"
    );
    assert!(
        popup["contact"].as_str().is_some_and(|c| !c.is_empty()),
        "{popup}"
    );
    // The open tickets are drawn (lib.js's ticketRow), or the list says there are none.
    let tickets = popup["tickets"].as_array().cloned().unwrap_or_default();
    assert!(!tickets.is_empty(), "{popup}");
    for ticket in &tickets {
        match ticket["id"].as_str() {
            Some(id) => assert_eq!(ticket["shown"], format!("#{id}"), "{popup}"),
            None => assert_eq!(ticket["none"], "No open tickets.", "{popup}"),
        }
    }
    // They are the server's pop-up's, which the route answers for the call at the phone.
    let answer = agent
        .eval(
            "fetch('/api/agents/agent1/popup').then(r => r.ok ? r.json() : null) \
               .then(p => p && { call: p.call, ids: p.open_tickets.map(t => String(t.id)) })",
        )
        .await;
    if answer["call"] == popup["call"] {
        let shown: Vec<&str> = tickets.iter().filter_map(|t| t["id"].as_str()).collect();
        let answered: Vec<&str> = answer["ids"]
            .as_array()
            .map(|ids| ids.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(shown, answered, "{popup} {answer}");
    }
    // A ticket opened from the pop-up is drawn in its open tickets (lib.js's ticketRow).
    agent
        .eval("document.querySelector('#popup-new-ticket').click(); true")
        .await;
    agent
        .wait_for(
            "the new ticket in the pop-up",
            "[...document.querySelectorAll('#popup-tickets li[data-ticket]')].some(li => \
               li.querySelector('.ticket-id')?.textContent === '#' + li.dataset.ticket \
               && /^Call from /.test(li.querySelector('.subject')?.textContent ?? ''))",
        )
        .await;
    // The agent escalates it (their own) to the 2nd line with a reason, asked in the dialog.
    agent
        .eval("document.querySelector('#popup-escalate').click(); true")
        .await;
    agent
        .wait_for(
            "the reason dialog",
            "document.querySelector('#ask')?.open === true && !!document.querySelector('#ask-reason')",
        )
        .await;
    agent
        .eval(
            "document.querySelector('#ask-reason').value = 'router on site'; \
             document.querySelector('#ask-confirm').click(); true",
        )
        .await;
    agent
        .wait_for(
            "the ticket on the 2nd line, the reason in its history",
            "fetch('/api/tickets/' + document.querySelector('#popup-note-ticket').value) \
               .then(r => r.json()).then(v => v.ticket.line === 2 \
                 && v.notes.some(n => n.kind === 'escalation' && n.body === 'router on site'))",
        )
        .await;
    // Reloaded while the call is at the phone, the desktop has missed the frame: the pop-up
    // comes back from the route (unless the call ended meanwhile).
    agent.goto(&format!("{}/", demo.base)).await;
    let call = popup["call"].as_str().unwrap_or_default();
    let again = agent
        .wait_for_up_to(
            "the pop-up again after a reload",
            &format!(
                "(() => {{ if (document.body.dataset.view !== 'agent' || document.body.dataset.feed !== 'connected') return false; \
                   const popup = document.querySelector('#popup'); \
                   if (popup && !popup.hidden && popup.dataset.call === {call:?} \
                       && popup.querySelector('.organization')?.textContent.trim() === {org}) return 'shown'; \
                   const activity = document.querySelector('#agent-activity')?.dataset.activity ?? ''; \
                   return activity !== '' && !['ringing', 'in_call'].includes(activity) ? 'ended' : false; }})()",
                org = popup["org"],
            ),
            Duration::from_secs(30),
        )
        .await;
    agent.screenshot("agent-popup-reloaded").await;
    assert!(matches!(again.as_str(), Some("shown" | "ended")), "{again}");
    drop(agent);

    // A viewer who is only an agent: the wallboard's feed is refused, the page says so.
    let mut viewer = Browser::launch().await.unwrap();
    viewer.sign_in(&demo.base, "viewer", PASSWORD).await;
    viewer
        .wait_for("signed in", "!!document.body.dataset.view")
        .await;
    let opened: Value = viewer
        .eval(
            "new Promise(done => { \
               const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws?feed=wallboard'); \
               ws.onopen = () => { ws.close(); done('open'); }; \
               ws.onclose = () => done('refused'); \
               setTimeout(() => done('timeout'), 10000); })",
        )
        .await;
    assert_eq!(opened, "refused");
    let view = viewer.eval("document.body.dataset.view").await;
    assert_ne!(view, "wallboard");
    viewer.goto(&format!("{}/#wallboard", demo.base)).await;
    viewer
        .wait_for("signed in again", "!!document.body.dataset.view")
        .await;
    assert_eq!(
        viewer
            .eval("document.querySelectorAll('#wallboard [data-call]').length")
            .await,
        0
    );
    assert_ne!(viewer.eval("document.body.dataset.view").await, "wallboard");
    viewer.screenshot("viewer").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_screen_imports_with_a_column_map_and_shows_warnings() {
    let Some(mut admin) = Browser::launch().await else {
        return;
    };
    let demo = demo().await;
    admin.sign_in(&demo.base, "ada", PASSWORD).await;
    admin.goto(&format!("{}/#admin", demo.base)).await;
    admin
        .wait_for(
            "the admin view with the import form",
            "document.body.dataset.view === 'admin' && !!document.querySelector('#import-map')",
        )
        .await;
    admin
        .eval(
            "(() => { \
               const text = 'Kennung,Vorname,last_name,phones,Job Title\\n' \
                 + 'k-1,Ivan,Petrov,+7 916 123-45-67; 12345678,engineer\\n' \
                 + 'k-2,Anna,Smirnova,+7 495 765-43-21,manager\\n'; \
               const files = new DataTransfer(); \
               files.items.add(new File([text], 'people.csv', { type: 'text/csv' })); \
               document.querySelector('#import-file').files = files.files; \
               document.querySelector('#import-kind').value = 'contacts'; \
               document.querySelector('#import-map').value = 'kennung=external_id, vorname=first_name'; \
               document.querySelector('#import-submit').click(); \
               return true; })()",
        )
        .await;
    let shown = admin
        .wait_for(
            "the report with its warning and the columns not read",
            "(() => { const rows = [...document.querySelectorAll('#import-warnings tbody tr')]; \
               const ignored = document.querySelector('#import-ignored')?.textContent ?? ''; \
               return rows.length && ignored \
                 ? { warnings: rows.map(row => [...row.cells].map(c => c.textContent)), ignored } \
                 : false; })()",
        )
        .await;
    admin
        .eval("document.querySelector('#admin-phonebook').scrollIntoView(); true")
        .await;
    admin.screenshot("admin-import").await;
    assert_eq!(shown["warnings"][0][0], "2", "{shown}");
    assert!(
        shown["warnings"][0][1]
            .as_str()
            .is_some_and(|w| w.starts_with("phones: \"12345678\" is not a valid number")),
        "{shown}"
    );
    assert_eq!(
        shown["warnings"].as_array().map(Vec::len),
        Some(1),
        "{shown}"
    );
    assert!(
        shown["ignored"]
            .as_str()
            .is_some_and(|i| i.ends_with(": Job Title")),
        "{shown}"
    );

    // A new queue from the form: blank fields take their defaults.
    admin
        .wait_for(
            "the queue list",
            "!!document.querySelector('#queues-list tr[data-queue=\"support\"] button')",
        )
        .await;
    admin
        .eval(
            "(() => { document.querySelector('#queue-name').value = 'sales'; \
               document.querySelector('#queue-form button[type=submit]').click(); return true; })()",
        )
        .await;
    admin
        .wait_for(
            "sales in the queue list",
            "!!document.querySelector('#queues-list tr[data-queue=\"sales\"]')",
        )
        .await;

    // Editing a queue fills in every setting, each in its own field.
    admin
        .wait_for(
            "a click on Edit",
            "(() => { const edit = document.querySelector('#queues-list tr[data-queue=\"support\"] button'); \
               return !!edit && (edit.click(), true); })()",
        )
        .await;
    let filled = admin
        .wait_for(
            "the demo queue's settings in the form",
            "(() => { const v = (id) => document.querySelector('#' + id).value; \
               return v('queue-name') === 'support' && v('queue-max-wait-secs') === '300' \
                 ? { overflow: v('queue-overflow-to'), extension: v('queue-overflow-extension'), \
                     callback_key: v('queue-callbacks-key'), exit_key: v('queue-exit-key'), \
                     hold_music: v('queue-prompts-hold-music'), wrap_up: v('queue-wrap-up-secs'), \
                     targets: [...document.querySelectorAll('#queue-overflow-queue option')].map(o => o.value), \
                     json_box: !!document.querySelector('#queue-settings') } \
                 : false; })()",
        )
        .await;
    assert_eq!(filled["overflow"], "extension", "{filled}");
    assert_eq!(filled["extension"], "voicemail", "{filled}");
    assert_eq!(filled["callback_key"], "1", "{filled}");
    assert_eq!(filled["exit_key"], "0", "{filled}");
    assert_eq!(filled["wrap_up"], "5", "{filled}");
    assert!(
        filled["hold_music"]
            .as_str()
            .is_some_and(|m| m.starts_with("tone_stream://")),
        "{filled}"
    );
    assert_eq!(filled["targets"], serde_json::json!(["sales"]), "{filled}");
    assert_eq!(filled["json_box"], false, "{filled}");

    // Overflow to sales after 240 s, and a prompt of its own: saved, and nothing else moved.
    admin
        .eval(
            "(() => { document.querySelector('#queue-overflow-to').value = 'queue'; \
               document.querySelector('#queue-overflow-queue').value = 'sales'; \
               document.querySelector('#queue-max-wait-secs').value = '240'; \
               document.querySelector('#queue-prompts-callback-accepted').value = 'ivr/ivr-call_back_thank_you.wav'; \
               document.querySelector('#queue-form button[type=submit]').click(); return true; })()",
        )
        .await;
    let stored = admin
        .wait_for(
            "the new settings stored",
            "fetch('/api/queues/support/settings').then(r => r.json()) \
               .then(s => s.overflow && s.overflow.target === 'sales' ? s : false)",
        )
        .await;
    assert_eq!(
        stored["overflow"],
        serde_json::json!({"to": "queue", "target": "sales"}),
        "{stored}"
    );
    assert_eq!(stored["max_wait_secs"], 240, "{stored}");
    assert_eq!(
        stored["prompts"]["callback_accepted"],
        serde_json::json!(["ivr/ivr-call_back_thank_you.wav"]),
        "{stored}"
    );
    assert_eq!(stored["callbacks"]["key"], "1", "{stored}");
    assert_eq!(stored["exit_key"], "0", "{stored}");
    assert_eq!(stored["exit_extension"], "voicemail", "{stored}");
    assert_eq!(stored["wrap_up_secs"], 5, "{stored}");

    // After a reload, Edit shows them again.
    admin.eval("location.reload(); true").await;
    admin
        .wait_for(
            "the queue list after the reload",
            "document.readyState === 'complete' && \
               !!document.querySelector('#queues-list tr[data-queue=\"support\"] button')",
        )
        .await;
    admin
        .wait_for(
            "a click on Edit",
            "(() => { const edit = document.querySelector('#queues-list tr[data-queue=\"support\"] button'); \
               return !!edit && (edit.click(), true); })()",
        )
        .await;
    let again = admin
        .wait_for(
            "the saved settings in the form",
            "(() => { const v = (id) => document.querySelector('#' + id).value; \
               return v('queue-name') === 'support' && v('queue-max-wait-secs') === '240' \
                 ? { overflow: v('queue-overflow-to'), target: v('queue-overflow-queue'), \
                     prompt: v('queue-prompts-callback-accepted') } \
                 : false; })()",
        )
        .await;
    assert_eq!(
        again,
        serde_json::json!({"overflow": "queue", "target": "sales", "prompt": "ivr/ivr-call_back_thank_you.wav"})
    );

    // The API's validation error is shown under the form.
    admin
        .eval(
            "(() => { document.querySelector('#queue-wrap-up-secs').value = '99999999'; \
               document.querySelector('#queue-form button[type=submit]').click(); return true; })()",
        )
        .await;
    let error = admin
        .wait_for(
            "the validation error under the form",
            "(() => { const e = document.querySelector('#queue-form-error'); \
               return !e.hidden && e.textContent; })()",
        )
        .await;
    assert!(
        error.as_str().is_some_and(|e| e.contains("wrap_up_secs")),
        "{error}"
    );
    admin
        .eval("document.querySelector('#admin-queues').scrollIntoView(); true")
        .await;
    admin.screenshot("admin-queue-settings").await;

    // An API token made in the screen: its secret shown once, listed, then revoked.
    admin
        .eval(
            "(() => { document.querySelector('#token-name').value = 'grafana'; \
               document.querySelector('#token-role').value = 'supervisor'; \
               document.querySelector('#token-form button[type=submit]').click(); return true; })()",
        )
        .await;
    let secret = admin
        .wait_for(
            "the new token's secret and its row",
            "(() => { const row = document.querySelector('#tokens-list tr[data-token=\"grafana\"]'); \
               const secret = document.querySelector('#token-secret')?.textContent; \
               return row && row.cells[1].textContent === 'supervisor' \
                 && row.cells[4].textContent === 'active' && secret; })()",
        )
        .await;
    let secret = secret.as_str().unwrap().to_owned();
    let scrape = |secret: String| {
        let base = demo.base.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{base}/metrics"))
                .bearer_auth(secret)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(scrape(secret.clone()).await, reqwest::StatusCode::OK);
    admin
        .eval(
            "(() => { window.confirm = () => true; \
               document.querySelector('#tokens-list tr[data-token=\"grafana\"] button[data-action=\"revoke\"]').click(); \
               return true; })()",
        )
        .await;
    // The list read again after the revoke shows it, and the scrape as its last use.
    let row = admin
        .wait_for(
            "the token shown revoked",
            "(() => { const row = document.querySelector('#tokens-list tr[data-token=\"grafana\"]'); \
               return row?.cells[4]?.textContent === 'revoked' && [...row.cells].map(c => c.textContent); })()",
        )
        .await;
    assert_ne!(row[3], "never", "{row}");
    assert!(
        row[5].as_str() == Some(""),
        "a revoked token has no revoke button: {row}"
    );
    admin
        .eval("document.querySelector('#admin-tokens').scrollIntoView(); true")
        .await;
    admin.screenshot("admin-tokens").await;
    assert_eq!(scrape(secret).await, reqwest::StatusCode::UNAUTHORIZED);

    // A queue in use is refused as it is; the screen offers to move its callers, agents and
    // overflows to another queue, and then removes it.
    admin
        .eval(
            "(() => { window.confirm = () => true; \
               document.querySelector('#queues-list tr[data-queue=\"support\"] button.danger').click(); \
               return true; })()",
        )
        .await;
    admin
        .wait_for(
            "the dialog offering to move support's callers and agents",
            "(() => { const select = document.querySelector('#ask-move_to'); \
               return document.querySelector('#ask').open && !!select \
                 && [...select.options].some(o => o.value === 'sales'); })()",
        )
        .await;
    admin.screenshot("admin-queue-move").await;
    admin
        .eval(
            "(() => { document.querySelector('#ask-move_to').value = 'sales'; \
               document.querySelector('#ask-confirm').click(); return true; })()",
        )
        .await;
    let members = admin
        .wait_for(
            "support gone and its agents in sales",
            "!document.querySelector('#queues-list tr[data-queue=\"support\"]') \
               && fetch('/api/queues').then(r => r.json()).then(qs => { \
                 const sales = qs.find(q => q.name === 'sales'); \
                 return !qs.some(q => q.name === 'support') && sales && sales.agents.length > 0 \
                   && sales.agents.map(a => a.name); })",
        )
        .await;
    assert!(
        members.as_array().is_some_and(|m| !m.is_empty()),
        "{members}"
    );

    // An admin disables a user from the users list.
    admin
        .wait_for(
            "the users list",
            "!!document.querySelector('#users-list tr[data-user=\"viewer\"] button[data-action=\"access\"]')",
        )
        .await;
    admin
        .eval("document.querySelector('#users-list tr[data-user=\"viewer\"] button[data-action=\"access\"]').click(); true")
        .await;
    admin
        .wait_for(
            "viewer shown disabled",
            "document.querySelector('#users-list tr[data-user=\"viewer\"]')?.cells[2]?.textContent === 'disabled'",
        )
        .await;
    let signed_in = reqwest::Client::new()
        .post(format!("{}/api/login", demo.base))
        .json(&serde_json::json!({"name": "viewer", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), reqwest::StatusCode::UNAUTHORIZED);

    // The event-socket page: the simulated node with its address, the switch's version and
    // uptime (asked once after the connect, before any heartbeat).
    admin.goto(&format!("{}/#status", demo.base)).await;
    let node = admin
        .wait_for(
            "the node on the status page",
            "(() => { const row = document.querySelector('#esl-nodes tr'); \
               return row && row.querySelector('.version').textContent.startsWith('1.10.12') \
                 && [...row.cells].map(c => c.textContent); })()",
        )
        .await;
    admin.screenshot("status-nodes").await;
    assert!(
        node[1]
            .as_str()
            .is_some_and(|a| a.starts_with("127.0.0.1:")),
        "{node}"
    );
    assert!(
        node[2].as_str().is_some_and(|l| l.starts_with("connected")),
        "{node}"
    );
    assert!(
        node[5].as_str().is_some_and(|u| u.contains("years")),
        "{node}"
    );
}

/// An admin opens the audit log and sees a change a supervisor made before (a number
/// blocked over the API) with who made it, and a failed sign-in; the kind filter narrows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_screen_shows_the_audit_log() {
    let Some(mut admin) = Browser::launch().await else {
        return;
    };
    let demo = demo().await;
    let client = reqwest::Client::new();
    let login = format!("{}/api/login", demo.base);
    let failed = client
        .post(&login)
        .json(&serde_json::json!({"name": "mallory", "password": "guess"}))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), reqwest::StatusCode::UNAUTHORIZED);
    let cookie = session_cookie(&client, &demo.base, "sue").await;
    let blocked = client
        .post(format!("{}/api/blocklist", demo.base))
        .header(reqwest::header::COOKIE, cookie)
        .header(reqwest::header::ORIGIN, &demo.base)
        .json(&serde_json::json!({
            "match": {"type": "number", "value": "+7 916 000-00-99"},
            "direction": "inbound",
            "reason": "audit screen test",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(blocked.status(), reqwest::StatusCode::CREATED);

    admin.sign_in(&demo.base, "ada", PASSWORD).await;
    admin.goto(&format!("{}/#admin", demo.base)).await;
    let row = admin
        .wait_for(
            "the blocklist change in the audit log",
            "(() => { const row = document.querySelector('#audit-table tr[data-kind=\"blocklist\"][data-action=\"create\"]'); \
               return row ? [...row.cells].map(c => c.textContent) : false; })()",
        )
        .await;
    admin
        .eval("document.querySelector('#admin-audit').scrollIntoView(); true")
        .await;
    admin.screenshot("admin-audit").await;
    assert_eq!(row[1], "sue (supervisor)", "{row}");
    assert!(
        row[5]
            .as_str()
            .is_some_and(|c| c.contains("+79160000099") && c.contains("audit screen test")),
        "{row}"
    );
    assert!(
        admin
            .eval("!!document.querySelector('#audit-table tr[data-action=\"login_failed\"][data-target=\"mallory\"]')")
            .await
            .as_bool()
            .unwrap_or(false),
        "the failed sign-in is listed"
    );

    // The kind filter: only sign-ins, ada's own among them.
    admin
        .eval(
            "document.querySelector('#audit-kind').value = 'login'; \
             document.querySelector('#audit-submit').click(); true",
        )
        .await;
    let kinds = admin
        .wait_for(
            "only sign-ins listed",
            "(() => { const rows = [...document.querySelectorAll('#audit-table tbody tr')]; \
               const kinds = [...new Set(rows.map(r => r.dataset.kind))]; \
               return kinds.length === 1 && rows.some(r => r.dataset.target === 'ada') ? kinds : false; })()",
        )
        .await;
    assert_eq!(kinds, serde_json::json!(["login"]));
}

/// The texts of the views' navigation.
const NAV: &str = "[...document.querySelectorAll('#nav a')].map(a => a.textContent)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_screens_speak_the_user_s_language() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let demo = demo().await;
    // A browser that asks for Russian gets the sign-in page in Russian.
    browser.accept_language("ru-RU,ru;q=0.9,en;q=0.5").await;
    browser.goto(&format!("{}/", demo.base)).await;
    let button = browser
        .wait_for(
            "the sign-in form in Russian",
            "document.documentElement.lang === 'ru' && document.querySelector('#login-submit').textContent",
        )
        .await;
    assert_eq!(button, "Войти");
    browser.screenshot("login-ru").await;

    // The supervisor's wallboard, numbers and all, in Russian; no English left on the page.
    browser.sign_in(&demo.base, "sue", PASSWORD).await;
    let nav = browser
        .wait_for(
            "the wallboard with a queue",
            &format!("document.querySelector('#queues .queue dt') && {NAV}"),
        )
        .await;
    assert_eq!(
        nav,
        serde_json::json!([
            "Табло",
            "Рабочее место",
            "Справочник",
            "Звонки",
            "Статистика операторов",
            "Факсы и почта",
            "Event socket"
        ]),
        "{nav}"
    );
    let labels = browser
        .eval("[...document.querySelectorAll('#queues .queue:first-child dt')].map(d => d.textContent)")
        .await;
    assert_eq!(labels[0], "Поступило сегодня", "{labels}");
    assert!(
        labels.as_array().unwrap().iter().any(|l| l
            .as_str()
            .is_some_and(|l| l.starts_with("Уровень обслуживания"))),
        "{labels}"
    );
    let left = browser.eval(UNTRANSLATED).await;
    assert_eq!(
        left,
        serde_json::json!([]),
        "English left on the Russian wallboard"
    );
    let me = browser.eval("fetch('/api/me').then(r => r.json())").await;
    assert_eq!(me["language"], "ru", "{me}");
    assert_eq!(me["language_chosen"], false, "{me}");
    browser.screenshot("wallboard-ru").await;
    // SL and SL2 say what they mean, with the queue's threshold.
    let explained = browser
        .eval("document.querySelector('[data-counter=\"service_level_2\"]').parentElement.title")
        .await;
    assert!(
        explained
            .as_str()
            .is_some_and(|e| e.starts_with("SL2: доля звонков") && e.contains(" 20 с")),
        "{explained}"
    );
    // The escalations panel folds away, and stays folded after a reload.
    browser
        .eval("document.querySelector('#escalations-card summary').click(); true")
        .await;
    browser.goto(&format!("{}/#wallboard", demo.base)).await;
    let folded = browser
        .wait_for(
            "the wallboard again",
            "document.querySelector('#queues .queue dt') && ({ open: document.querySelector('#escalations-card').open })",
        )
        .await;
    assert_eq!(folded["open"], false, "{folded}");
    // TV mode: no top bar, no controls, large figures; Escape ends it.
    let tv = browser
        .eval(
            "(() => { const before = parseFloat(getComputedStyle(document.querySelector('.counter dd')).fontSize); \
             document.querySelector('#tv-mode').click(); \
             return { tv: document.body.dataset.tv, bar: getComputedStyle(document.querySelector('.topbar')).display, \
                      actions: getComputedStyle(document.querySelector('#queues .row-actions')).display, \
                      before, after: parseFloat(getComputedStyle(document.querySelector('.counter dd')).fontSize) }; })()",
        )
        .await;
    assert_eq!(tv["tv"], "true", "{tv}");
    assert_eq!(tv["bar"], "none", "{tv}");
    assert_eq!(tv["actions"], "none", "{tv}");
    assert!(tv["after"].as_f64() > tv["before"].as_f64(), "{tv}");
    browser.screenshot("wallboard-tv-ru").await;
    browser
        .call(
            "Input.dispatchKeyEvent",
            serde_json::json!({"type": "keyDown", "key": "Escape", "code": "Escape", "windowsVirtualKeyCode": 27}),
        )
        .await;
    browser
        .wait_for("TV mode to end", "!document.body.dataset.tv")
        .await;

    // The user picks English in the menu: it is stored as theirs and the page starts in it.
    browser
        .eval(
            "(() => { const menu = document.querySelector('#language'); menu.value = 'en'; \
             menu.dispatchEvent(new Event('change')); return true; })()",
        )
        .await;
    let nav = browser
        .wait_for(
            "the wallboard in English",
            &format!("document.documentElement?.lang === 'en' && document.querySelector('#queues .queue dt') && {NAV}"),
        )
        .await;
    assert_eq!(
        nav,
        serde_json::json!([
            "Wallboard",
            "Agent desktop",
            "Phone book",
            "Calls",
            "Agent statistics",
            "Faxes and mail",
            "Event socket"
        ]),
        "{nav}"
    );
    let me = browser.eval("fetch('/api/me').then(r => r.json())").await;
    assert_eq!(me["language"], "en", "{me}");
    assert_eq!(me["language_chosen"], true, "{me}");
    browser.screenshot("wallboard-en").await;

    // The admin, whose browser asks for Russian, sees every admin card and the manager's
    // screen in Russian, at desktop and phone size.
    let Some(mut admin) = Browser::launch().await else {
        return;
    };
    admin.accept_language("ru").await;
    admin.sign_in(&demo.base, "ada", PASSWORD).await;
    admin.goto(&format!("{}/#admin", demo.base)).await;
    admin
        .wait_for(
            "the admin screen in Russian",
            "document.querySelector('#admin-users h2')?.textContent === 'Пользователи и роли' \
             && !!document.querySelector('#users-list table') && !!document.querySelector('#queues-list table')",
        )
        .await;
    let left = admin.eval(UNTRANSLATED).await;
    assert_eq!(
        left,
        serde_json::json!([]),
        "English left on the Russian admin screen"
    );
    admin.screenshot("admin-ru").await;
    admin.goto(&format!("{}/#manager", demo.base)).await;
    admin
        .wait_for(
            "the manager's screen in Russian",
            "document.querySelector('#incidents h2')?.textContent === 'Инциденты' && document.querySelector('#incidents + section h2')?.textContent === 'Заявки' && !!document.querySelector('#report-chart g')",
        )
        .await;
    let left = admin.eval(UNTRANSLATED).await;
    assert_eq!(
        left,
        serde_json::json!([]),
        "English left on the Russian manager screen"
    );
    admin.screenshot("manager-ru").await;
    admin
        .call(
            "Emulation.setDeviceMetricsOverride",
            serde_json::json!({"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true}),
        )
        .await;
    admin.goto(&format!("{}/#wallboard", demo.base)).await;
    admin
        .wait_for(
            "the phone wallboard in Russian",
            "!!document.querySelector('#queues .queue dt')",
        )
        .await;
    admin.screenshot("wallboard-ru-phone").await;
    // On a phone the top bar scrolls away, and a queue lists its agents before its callers.
    let phone = admin
        .eval(
            "(() => { const queue = document.querySelector('#queues .queue'); \
               const [waiting, agents] = [...queue.querySelectorAll('.queue-columns > div')]; \
               return { bar: getComputedStyle(document.querySelector('.topbar')).position, \
                        agents_first: agents.getBoundingClientRect().top < waiting.getBoundingClientRect().top }; })()",
        )
        .await;
    assert_eq!(phone["bar"], "static", "{phone}");
    assert_eq!(phone["agents_first"], true, "{phone}");

    // A language that does not exist is refused with the ones there are.
    let refused = admin
        .eval(
            "fetch('/api/me/language', {method: 'PUT', headers: {'Content-Type': 'application/json'}, \
             body: JSON.stringify({language: 'xx'})}).then(async r => [r.status, (await r.json()).error])",
        )
        .await;
    assert_eq!(refused[0], 400, "{refused}");
    assert!(
        refused[1].as_str().is_some_and(|e| e.contains("en, ru")),
        "{refused}"
    );
}

/// A queue past its alert limits (set by an admin through the API) turns red on the wallboard,
/// with the banner naming it and the chime heard (recorded through the DevTools protocol).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_past_its_limits_turns_red_with_an_alert() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let demo = demo().await;
    let client = reqwest::Client::new();
    let cookie = session_cookie(&client, &demo.base, "ada").await;
    // Red as soon as one caller waits; the service level never colours it here.
    let patched = client
        .patch(format!("{}/api/queues/support/settings", demo.base))
        .header(reqwest::header::COOKIE, &cookie)
        .header(reqwest::header::ORIGIN, &demo.base)
        .json(&serde_json::json!({"alerts": {
            "waiting_amber": 1, "waiting_red": 1, "service_level_amber": 0, "service_level_red": 0,
        }}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), reqwest::StatusCode::OK);
    let stored: Value = patched.json().await.unwrap();
    assert_eq!(stored["alerts"]["waiting_red"], 1, "{stored}");
    assert_eq!(
        stored["alerts"]["wait_red_secs"], 120,
        "the rest kept: {stored}"
    );
    // Limits that fall instead of rising are refused, naming the setting.
    let refused = client
        .patch(format!("{}/api/queues/support/settings", demo.base))
        .header(reqwest::header::COOKIE, &cookie)
        .header(reqwest::header::ORIGIN, &demo.base)
        .json(&serde_json::json!({"alerts": {"wait_amber_secs": 300, "wait_red_secs": 60}}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::BAD_REQUEST);
    let why: Value = refused.json().await.unwrap();
    assert!(
        why["error"]
            .as_str()
            .is_some_and(|e| e.contains("wait_*_secs")),
        "{why}"
    );

    browser
        .call(
            "Page.addScriptToEvaluateOnNewDocument",
            serde_json::json!({"source": RECORD_RINGS}),
        )
        .await;
    // The supervisor clicks on the page before signing in (browsers allow sound after a click).
    browser.goto(&format!("{}/", demo.base)).await;
    browser
        .wait_for(
            "the sign-in form",
            "!!document.querySelector('#login-name')",
        )
        .await;
    assert!(browser.click_as_a_user().await, "the page took the click");
    browser
        .eval(&format!(
            "document.querySelector('#login-name').value = 'sue'; \
             document.querySelector('#login-password').value = {password}; \
             document.querySelector('#login-submit').click(); true",
            password = serde_json::json!(PASSWORD),
        ))
        .await;
    let alert = browser
        .wait_for_up_to(
            "support to turn red with the alert",
            "(() => { const queue = document.querySelector('#queues [data-queue=\"support\"]'); \
               const banner = document.querySelector('#queue-alert'); \
               return queue?.dataset.level === 'red' && !banner.hidden && window.__rang.tones >= 3 \
                 && { banner: banner.textContent, head: queue.querySelector('.waiting-head').dataset.level, \
                      oldest: queue.querySelector('.waiting-head .oldest').textContent, tones: window.__rang.tones }; })()",
            Duration::from_secs(120),
        )
        .await;
    browser.screenshot("wallboard-alert").await;
    assert!(
        alert["banner"]
            .as_str()
            .is_some_and(|b| b.starts_with("Service level at risk: ") && b.contains("support")),
        "{alert}"
    );
    assert_eq!(alert["head"], "red", "{alert}");
    assert!(
        alert["oldest"]
            .as_str()
            .is_some_and(|o| o.starts_with("longest ")),
        "{alert}"
    );
}

/// The call log and the fax and outbox screen of a supervisor: calls filtered by outcome, a
/// page at a time; faxes and mails listed, a mail's state filter applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_reads_the_call_log_and_the_faxes() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let demo = demo().await;
    browser.sign_in(&demo.base, "sue", PASSWORD).await;
    browser
        .wait_for("signed in", "document.body.dataset.view === 'wallboard'")
        .await;
    browser.goto(&format!("{}/#calls", demo.base)).await;
    // The demo's callers are answered and filed from their CDRs as the test runs.
    let rows = browser
        .wait_for_up_to(
            "answered calls in the log",
            "(() => { const outcome = document.querySelector('#calls-outcome'); \
               if (!outcome.options.length) return false; \
               if (outcome.value !== 'answered') { outcome.value = 'answered'; } \
               document.querySelector('#calls-filters button[type=submit]').click(); \
               const rows = [...document.querySelectorAll('#calls-table tbody tr')]; \
               return rows.length > 0 && rows.map(r => r.cells[2].textContent); })()",
            Duration::from_secs(120),
        )
        .await;
    let outcomes = rows.as_array().unwrap();
    assert!(outcomes.iter().all(|o| o == "answered"), "{rows}");
    // Callers in the configured number style (international: `+7 495 ...`), as the API
    // writes them beside the stored E.164.
    let callers = browser
        .eval("Promise.all([fetch('/api/calls?outcome=answered&limit=51').then(r => r.json()),                  [...document.querySelectorAll('#calls-table tbody tr')].map(r => r.cells[1].textContent)])                .then(([calls, shown]) => ({ api: calls.slice(0, shown.length).map(c => c.caller_number_shown), shown }))")
        .await;
    assert_eq!(callers["api"], callers["shown"], "{callers}");
    assert!(
        callers["shown"].as_array().unwrap().iter().any(|n| n
            .as_str()
            .is_some_and(|n| n.starts_with('+') && n.contains(' '))),
        "{callers}"
    );
    // What the API answers for the same filter, in the same order.
    let api = browser
        .eval("fetch('/api/calls?outcome=answered&limit=51').then(r => r.json()).then(calls => calls.map(c => c.id))")
        .await;
    let shown = browser
        .eval("[...document.querySelectorAll('#calls-table tbody tr')].map(r => r.dataset.callId)")
        .await;
    let first: Vec<&Value> = api
        .as_array()
        .unwrap()
        .iter()
        .take(shown.as_array().unwrap().len())
        .collect();
    assert_eq!(
        shown.as_array().unwrap().iter().collect::<Vec<_>>(),
        first,
        "{shown} {api}"
    );
    assert!(
        browser
            .eval("document.querySelector('#calls-newer').disabled")
            .await
            .as_bool()
            .unwrap_or(false),
        "the first page has nothing newer"
    );
    browser.screenshot("calls").await;

    browser.goto(&format!("{}/#faxes", demo.base)).await;
    let faxes = browser
        .wait_for(
            "the faxes and the outbox",
            "(document.querySelector('#faxes-table') || /No faxes/.test(document.querySelector('#faxes-list').textContent)) \
             && (document.querySelector('#outbox-table') || /No mails/.test(document.querySelector('#outbox-list').textContent)) \
             && { faxes: document.querySelectorAll('#faxes-table tbody tr').length, \
                  mails: [...document.querySelectorAll('#outbox-table tbody tr')].map(r => r.dataset.state) }",
        )
        .await;
    browser.screenshot("faxes").await;
    let api = browser
        .eval("Promise.all([fetch('/api/faxes?limit=100').then(r => r.json()), fetch('/api/outbox?limit=100').then(r => r.json())]).then(([f, m]) => ({ faxes: f.length, mails: m.map(x => x.state) }))")
        .await;
    assert_eq!(faxes["faxes"], api["faxes"], "{faxes} {api}");
    assert_eq!(faxes["mails"], api["mails"], "{faxes} {api}");
}

/// Runs `script` (statements; `return` a value) in the page as an async function.
fn page_script(script: &str) -> String {
    format!("(async () => {{ {script} }})()")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manager_searches_pages_exports_assigns_and_links_tickets() {
    let Some(mut manager) = Browser::launch().await else {
        return;
    };
    let demo = demo().await;
    manager.sign_in(&demo.base, "ada", PASSWORD).await;
    manager
        .wait_for("the signed-in page", "!!document.querySelector('#nav a')")
        .await;
    // 55 tickets about a printer, and one from a Moscow number, opened by hand (ada opens
    // them, so ada is their assignee).
    let ids = manager
        .eval(&page_script(
            "const open = async (body) => (await (await fetch('/api/tickets', { method: 'POST', \
               headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })).json()).id; \
             const ids = []; \
             for (let i = 1; i <= 55; i++) ids.push(await open({ subject: 'Printer zq7 jam ' + i })); \
             ids.push(await open({ subject: 'Modem zq7 down', caller_number: '+7 495 555-01-23' })); \
             return ids;",
        ))
        .await;
    let modem = ids[55].as_i64().unwrap();
    let first_printer = ids[0].as_i64().unwrap();
    manager.goto(&format!("{}/#manager", demo.base)).await;
    manager
        .wait_for(
            "the tickets list",
            "!!document.querySelector('#tickets tbody tr')",
        )
        .await;

    // The number in its national form finds the modem ticket, and only tickets from it.
    let search = |text: &str| {
        format!(
            "(() => {{ document.querySelector('#filter-q').value = {}; \
               document.querySelector('#ticket-filters button[type=submit]').click(); return true; }})()",
            serde_json::json!(text)
        )
    };
    manager.eval(&search("8 (495) 555-01-23")).await;
    let found = manager
        .wait_for(
            "the ticket found by its caller's national number",
            "(() => { const rows = [...document.querySelectorAll('#tickets tbody tr')]; \
               return rows.length && rows.every(r => r.cells[5].textContent === '+7 495 555-01-23') \
                 ? rows.map(r => Number(r.dataset.ticket)) : false; })()",
        )
        .await;
    assert!(
        found
            .as_array()
            .unwrap()
            .iter()
            .any(|id| id.as_i64() == Some(modem)),
        "{found}"
    );

    // 56 tickets carry "zq7": 50 on the first page, the other 6 one page older.
    manager.eval(&search("zq7")).await;
    let page = "(() => [document.querySelectorAll('#tickets tbody tr').length, \
        document.querySelector('#tickets-page').textContent, \
        document.querySelector('#tickets-newer').disabled, \
        document.querySelector('#tickets-older').disabled])()";
    manager
        .wait_for(
            "the first page of 56",
            "document.querySelector('#tickets-page').textContent === '1–50 of 56'",
        )
        .await;
    assert_eq!(
        manager.eval(page).await,
        serde_json::json!([50, "1–50 of 56", true, false])
    );
    manager
        .eval("document.querySelector('#tickets-older').click(); true")
        .await;
    manager
        .wait_for(
            "the older page",
            "document.querySelector('#tickets-page').textContent === '51–56 of 56'",
        )
        .await;
    assert_eq!(
        manager.eval(page).await,
        serde_json::json!([6, "51–56 of 56", false, true])
    );
    // The oldest is the first printer ticket.
    let last = manager
        .eval("Number([...document.querySelectorAll('#tickets tbody tr')].pop().dataset.ticket)")
        .await;
    assert_eq!(last.as_i64(), Some(first_printer));

    // The CSV link is the filtered list, every page of it.
    let csv = manager
        .eval(&page_script(
            "const link = document.querySelector('#tickets-csv'); \
             const text = await (await fetch(link.href)).text(); \
             return [link.getAttribute('href'), text.trim().split('\\n').length, text.includes('Modem zq7 down')];",
        ))
        .await;
    assert!(
        csv[0]
            .as_str()
            .is_some_and(|h| h.contains("q=zq7") && h.contains("format=csv")),
        "{csv}"
    );
    assert_eq!(csv[1], 57, "{csv}");
    assert_eq!(csv[2], true, "{csv}");

    // The ticket's own address opens it in a page loaded afresh (a link followed), its detail
    // below the sticky top bar.
    manager.goto("about:blank").await;
    manager
        .goto(&format!("{}/#manager/ticket/{first_printer}", demo.base))
        .await;
    let shown = manager
        .wait_for(
            "the linked ticket's detail, in view below the top bar",
            "(() => { const box = document.querySelector('#ticket-detail'); \
               const bar = document.querySelector('.topbar').getBoundingClientRect(); \
               if (box.hidden || !box.querySelector('#detail-link')) return false; \
               if (document.querySelectorAll('#tickets tbody tr').length < 50) return false; \
               const top = box.getBoundingClientRect().top; \
               return top >= bar.bottom && top < innerHeight ? [box.querySelector('h2').textContent, top, bar.bottom] : false; })()",
        )
        .await;
    assert!(
        shown[0]
            .as_str()
            .is_some_and(|h| h.starts_with(&format!("#{first_printer} Printer zq7 jam 1"))),
        "{shown}"
    );
    assert!(
        shown[1].as_f64() > Some(0.0),
        "the detail was scrolled to, not left at the top: {shown}"
    );

    // Reassigned to agent1001, shown in the detail and the list.
    manager
        .eval(
            "document.querySelector('#detail-assignee').value = 'agent1001'; \
             document.querySelector('#detail-assign').click(); true",
        )
        .await;
    manager
        .wait_for(
            "the new assignee",
            "document.querySelector('#detail-assignee')?.value === 'agent1001' && \
             [...document.querySelectorAll('#ticket-detail dd')].some(d => d.textContent === 'agent1001')",
        )
        .await;
    let assignee = manager
        .eval(&page_script(&format!(
            "return (await (await fetch('/api/tickets/{first_printer}')).json()).ticket.assignee;"
        )))
        .await;
    assert_eq!(assignee, "agent1001");

    // The star toggles, and the list shows it (starred first: on top of the first page).
    manager
        .eval("document.querySelector('#detail-star').click(); true")
        .await;
    manager
        .wait_for(
            "the ticket starred",
            &format!(
                "document.querySelector('#detail-star')?.getAttribute('aria-pressed') === 'true' && \
                 document.querySelector('#tickets tbody tr')?.dataset.ticket === '{first_printer}' && \
                 !!document.querySelector('#tickets tr[data-ticket=\"{first_printer}\"] .star')"
            ),
        )
        .await;
    let in_view = manager
        .eval("(() => { const top = document.querySelector('#ticket-detail').getBoundingClientRect().top; \
               return top >= document.querySelector('.topbar').getBoundingClientRect().bottom && top < innerHeight; })()")
        .await;
    assert_eq!(
        in_view, true,
        "the detail stays in view once the list is drawn"
    );
    manager.screenshot("manager-tickets").await;
    manager
        .eval("document.querySelector('#detail-star').click(); true")
        .await;
    manager
        .wait_for(
            "the star taken off",
            "document.querySelector('#detail-star')?.getAttribute('aria-pressed') === 'false'",
        )
        .await;

    // Escalated to the 2nd line through the reason dialog: the history shows the step, and
    // the SLA table counts the ticket on that line.
    manager
        .eval("document.querySelector('#detail-escalate').click(); true")
        .await;
    manager
        .wait_for(
            "the reason dialog",
            "document.querySelector('#ask')?.open === true && !!document.querySelector('#ask-reason')",
        )
        .await;
    manager
        .eval(
            "document.querySelector('#ask-reason').value = 'needs the network team'; \
             document.querySelector('#ask-confirm').click(); true",
        )
        .await;
    manager
        .wait_for(
            "the escalation in the history",
            "[...document.querySelectorAll('#ticket-detail .notes-list li.escalation')] \
               .some(li => li.textContent.includes('2nd line') && li.textContent.includes('needs the network team')) && \
             [...document.querySelectorAll('#ticket-detail dd')].some(d => d.textContent === '2nd line')",
        )
        .await;
    manager
        .eval("document.querySelector('#report-form').requestSubmit(); true")
        .await;
    manager
        .wait_for(
            "the SLA table with the 2nd line",
            "!!document.querySelector('#sla-table tr[data-category=\"information\"][data-line=\"2\"]')",
        )
        .await;
    manager
        .eval("document.querySelector('#ticket-detail').scrollIntoView(); true")
        .await;
    manager.screenshot("manager-ticket-escalated").await;
    manager
        .eval("document.querySelector('#sla-table').scrollIntoView(); true")
        .await;
    manager.screenshot("manager-sla-report").await;
}
