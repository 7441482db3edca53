//! The agent files an unknown caller from the pop-up, in a real headless Chromium against a
//! service on the simulated switch: "Add to the phone book" makes the caller a contact with
//! the calling number, and "Link to a contact" adds the calling number to a contact found by
//! name. Each is checked in the stored phone book and in the pop-up, which then shows an
//! exact match and no longer offers to file the caller.

mod browser;
mod common;

use std::time::Duration;

use browser::Browser;
use common::service::{config, eventually, simulator, Service};
use serde_json::{json, Value};
use switchdesk::directory::model::Contact;
use switchdesk::sim::{CallSpec, Simulator};
use switchdesk::store::Store;
use switchdesk::users::{self, Role};

/// An unknown caller rings `agent1`; the pop-up of that call, once it says the caller is
/// unknown and offers to file them.
async fn unknown_caller_on_the_desktop(
    browser: &mut Browser,
    sim: &Simulator,
    number: &str,
    name: &str,
) -> String {
    let call = sim
        .place_call(CallSpec {
            from_number: number.into(),
            from_name: name.into(),
            destination: "7000".into(),
            ..CallSpec::default()
        })
        .await
        .unwrap();
    browser
        .wait_for_up_to(
            "the unknown caller's pop-up",
            &format!(
                "document.querySelector('#popup')?.dataset.call === {call:?} \
                 && document.querySelector('#popup-match')?.dataset.confidence === 'unknown' \
                 && !document.querySelector('#popup-book').hidden"
            ),
            Duration::from_secs(60),
        )
        .await;
    call
}

/// Fills the open dialog's fields (by name) and confirms it.
async fn answer_dialog(browser: &mut Browser, what: &str, fields: Value) {
    browser
        .wait_for(what, "document.querySelector('#ask')?.open === true")
        .await;
    browser
        .eval(&format!(
            "(() => {{ for (const [name, value] of Object.entries({fields})) {{ \
                 const input = document.querySelector('#ask-form').elements[name]; \
                 if (value !== null) input.value = value; }} \
               document.querySelector('#ask-confirm').click(); return true; }})()"
        ))
        .await;
}

/// The pop-up of `call` shows an exact match and no filing buttons.
async fn filed(browser: &mut Browser, call: &str) {
    browser
        .wait_for(
            "the pop-up to show the filed caller",
            &format!(
                "document.querySelector('#popup')?.dataset.call === {call:?} \
                 && document.querySelector('#popup-match')?.dataset.confidence === 'exact' \
                 && document.querySelector('#popup-book').hidden"
            ),
        )
        .await;
}

/// The stored contacts that have `number`, by name.
async fn contacts_with(store: &Store, number: &str) -> Vec<(String, String)> {
    let contacts: Vec<Contact> = store.records_after(0, 1000).await.unwrap();
    contacts
        .into_iter()
        .filter(|c| c.numbers.iter().any(|n| n.number == number))
        .map(|c| (c.first_name, c.last_name))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_adds_an_unknown_caller_and_links_another_from_the_pop_up() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let db = common::TestDb::sqlite().await;
    let sim = simulator(71, Duration::from_secs(20)).await;
    let spool = tempfile::tempdir().unwrap();
    let mut config = config(&db, &sim, spool.path());
    config.phonebook.default_region = Some("RU".into());
    users::add_user(&db.store, "agent1", Role::Agent, "agent1-password")
        .await
        .unwrap();
    // A contact already in the book, for the second caller to be linked to (the
    // service reads the book as it starts).
    db.store
        .save_record(&Contact {
            first_name: "Анна".into(),
            last_name: "Смирнова".into(),
            ..Contact::default()
        })
        .await
        .unwrap();

    let service = Service::start(config).await;
    browser
        .sign_in(&service.base, "agent1", "agent1-password")
        .await;
    browser
        .wait_for(
            "the agent desktop, live",
            "document.body.dataset.view === 'agent' && document.body.dataset.feed === 'connected' \
             && !!document.querySelector('#go-available')",
        )
        .await;
    browser
        .eval("document.querySelector('#go-available').click(); true")
        .await;

    // 1. Add: the caller's name split into first and last, the number as the switch sent it.
    let first =
        unknown_caller_on_the_desktop(&mut browser, &sim, "+74957770011", "Пётр Сидоров").await;
    let offered = browser
        .eval("document.querySelector('#popup-add-contact').click(); true")
        .await;
    assert_eq!(offered, json!(true));
    let prefilled = browser
        .wait_for(
            "the add dialog, filled from the call",
            "document.querySelector('#ask')?.open && { first: document.querySelector('#ask-first_name').value, \
               last: document.querySelector('#ask-last_name').value, number: document.querySelector('#ask-number').value }",
        )
        .await;
    assert_eq!(
        prefilled,
        json!({"first": "Пётр", "last": "Сидоров", "number": "+74957770011"})
    );
    answer_dialog(&mut browser, "the add dialog", json!({})).await;
    filed(&mut browser, &first).await;
    assert_eq!(
        contacts_with(&db.store, "+74957770011").await,
        [("Пётр".to_owned(), "Сидоров".to_owned())]
    );
    browser.screenshot("popup-added").await;
    assert!(sim.hangup(&first, "NORMAL_CLEARING").await.unwrap());

    // 2. Link: found by name, the calling number added to the contact's own.
    let second =
        unknown_caller_on_the_desktop(&mut browser, &sim, "+74957770022", "A Smirnova").await;
    browser
        .eval("document.querySelector('#popup-link-contact').click(); true")
        .await;
    answer_dialog(&mut browser, "the search dialog", json!({"q": "Смирнова"})).await;
    let options = browser
        .wait_for(
            "the contacts found",
            "document.querySelector('#ask')?.open && document.querySelector('#ask-id') \
             && [...document.querySelector('#ask-id').options].map(o => o.textContent)",
        )
        .await;
    assert_eq!(options, json!(["Анна Смирнова"]), "{options}");
    answer_dialog(&mut browser, "the pick dialog", json!({"id": null})).await;
    filed(&mut browser, &second).await;
    let told = browser
        .eval("document.querySelector('#notice span')?.textContent ?? ''")
        .await;
    assert!(
        told.as_str().unwrap_or("").contains("+7 495 777-00-22"),
        "the number as the screens write it: {told}"
    );
    assert_eq!(
        contacts_with(&db.store, "+74957770022").await,
        [("Анна".to_owned(), "Смирнова".to_owned())]
    );
    // The first caller's contact was not touched by the link.
    assert_eq!(
        contacts_with(&db.store, "+74957770011").await,
        [("Пётр".to_owned(), "Сидоров".to_owned())]
    );
    browser.screenshot("popup-linked").await;
    assert!(sim.hangup(&second, "NORMAL_CLEARING").await.unwrap());
    eventually("both calls ended", async || {
        sim.channels()
            .await
            .ok()
            .filter(|c| c.iter().all(|c| c.uuid != first && c.uuid != second))
    })
    .await;
    service.stop().await;
}
