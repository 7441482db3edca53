//! The phone book and the blocklist in the store, on SQLite and on PostgreSQL, and the
//! in-memory phone book loaded from it answering who is calling.

#[macro_use]
mod common;

use common::{TestDb, TestDbRef};
use switchdesk::blocklist::{Direction, Entry, Match, Treatment};
use switchdesk::directory::model::{Asset, Contact, Number, NumberKind, Organization, Owner};
use switchdesk::directory::number::Numbering;
use switchdesk::directory::PhoneBook;
use switchdesk::store::{BlockedAttempt, StoreError};
use switchdesk::switch::Confidence;

on_both_backends!(
    records_link_and_unlink,
    external_ids_make_saves_idempotent,
    a_bad_record_in_a_batch_spares_the_others,
    blocklist_entries_count_hits_and_keep_their_audit,
    the_loaded_book_identifies_callers,
    the_book_catches_up_with_writes_from_elsewhere,
    a_removed_record_is_kept_listed_apart_and_out_of_the_book,
);

fn number(n: &str, kind: NumberKind) -> Number {
    Number {
        number: n.into(),
        kind,
    }
}

fn acme() -> Organization {
    Organization {
        external_id: Some("org-1".into()),
        name: "ООО «Ромашка»".into(),
        numbers: vec![
            number("+74951230000", NumberKind::Main),
            number("+7495123", NumberKind::Range),
        ],
        fax_mailboxes: vec!["fax@romashka.example".into()],
        vip: true,
        ..Default::default()
    }
}

fn alexei(organization: Option<i64>) -> Contact {
    Contact {
        external_id: Some("c-1".into()),
        organization_id: organization,
        first_name: "Алексей".into(),
        last_name: "Ревенко".into(),
        aliases: vec!["Aleksei Revenko".into()],
        numbers: vec![number("+79161234567", NumberKind::Mobile)],
        emails: vec!["a.revenko@romashka.example".into()],
        language: Some("ru".into()),
        ..Default::default()
    }
}

async fn records_link_and_unlink(db: TestDbRef) {
    let store = db.store;
    let mut org = acme();
    org.id = store.save_record(&org).await.unwrap();
    let mut contact = alexei(Some(org.id));
    contact.id = store.save_record(&contact).await.unwrap();
    let server = Asset {
        name: "srv-01".into(),
        kind: "server".into(),
        serial: "SN-42".into(),
        location: "Rack 3".into(),
        owner: Owner::Organization(org.id),
        ..Default::default()
    };
    let server_id = store.save_record(&server).await.unwrap();
    let laptop_id = store
        .save_record(&Asset {
            name: "laptop".into(),
            owner: Owner::Contact(contact.id),
            ..Default::default()
        })
        .await
        .unwrap();

    assert_eq!(store.record::<Contact>(contact.id).await.unwrap(), contact);
    assert_eq!(store.record::<Organization>(org.id).await.unwrap(), org);
    let members = store.contacts_of_organization(org.id).await.unwrap();
    assert_eq!(members, vec![contact.clone()]);
    let owned = store.assets_of(Owner::Organization(org.id)).await.unwrap();
    assert_eq!(owned.len(), 1);
    assert_eq!(owned[0].serial, "SN-42");

    // An update by id; an unknown id is not found.
    contact.notes = "prefers e-mail".into();
    assert_eq!(store.save_record(&contact).await.unwrap(), contact.id);
    assert_eq!(
        store.record::<Contact>(contact.id).await.unwrap().notes,
        "prefers e-mail"
    );
    let mut ghost = contact.clone();
    ghost.id = 999_999;
    assert!(matches!(
        store.save_record(&ghost).await,
        Err(StoreError::NotFound(_))
    ));

    // Deleting the organization keeps its contact and asset, unlinked.
    assert!(store.delete_record::<Organization>(org.id).await.unwrap());
    assert!(!store.delete_record::<Organization>(org.id).await.unwrap());
    assert_eq!(
        store
            .record::<Contact>(contact.id)
            .await
            .unwrap()
            .organization_id,
        None
    );
    assert_eq!(
        store.record::<Asset>(server_id).await.unwrap().owner,
        Owner::Nobody
    );
    assert!(store.delete_record::<Contact>(contact.id).await.unwrap());
    assert_eq!(
        store.record::<Asset>(laptop_id).await.unwrap().owner,
        Owner::Nobody
    );
}

async fn external_ids_make_saves_idempotent(db: TestDbRef) {
    let store = db.store;
    let first = store.save_record(&alexei(None)).await.unwrap();
    let mut again = alexei(None);
    again.last_name = "Ревенко-Петров".into();
    let second = store.save_record(&again).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(store.count_records::<Contact>().await.unwrap(), 1);
    assert_eq!(
        store.record::<Contact>(first).await.unwrap().last_name,
        "Ревенко-Петров"
    );
    let found: Contact = store.record_by_external_id("c-1").await.unwrap().unwrap();
    assert_eq!(found.id, first);

    // Paging walks every record once, in id order.
    for i in 0..25 {
        store
            .save_record(&Contact {
                first_name: format!("Person {i}"),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let page: Vec<Contact> = store.records_after(after, 10).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.id;
        seen.extend(page.into_iter().map(|c| c.id));
    }
    assert_eq!(seen.len(), 26);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
}

async fn a_bad_record_in_a_batch_spares_the_others(db: TestDbRef) {
    let store = db.store;
    let batch = vec![
        Contact {
            first_name: "Good".into(),
            ..Default::default()
        },
        // No such organization: the database refuses the link.
        Contact {
            first_name: "Orphan".into(),
            organization_id: Some(424_242),
            ..Default::default()
        },
        Contact {
            first_name: "Also good".into(),
            ..Default::default()
        },
    ];
    let results = store.save_records(&batch).await.unwrap();
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok());
    assert!(results[1].is_err());
    assert!(results[2].is_ok());
    assert_eq!(store.count_records::<Contact>().await.unwrap(), 2);
}

async fn blocklist_entries_count_hits_and_keep_their_audit(db: TestDbRef) {
    let store = db.store;
    let entry = Entry {
        id: 0,
        matches: Match::Prefix("+882".into()),
        direction: Direction::Both,
        treatment: Treatment::Prompt {
            file: "ivr/ivr-call_rejected.wav".parse().unwrap(),
        },
        expires_at: Some(4_000_000_000_000),
        reason: "satellite premium rate".into(),
        added_by: "sam".into(),
        hits: 0,
        last_hit_at: None,
        created_at: 0,
    };
    let saved = store.save_block(&entry).await.unwrap();
    assert!(saved.id > 0);
    assert!(saved.created_at > 0);
    assert_eq!(saved.matches, entry.matches);
    assert_eq!(saved.treatment, entry.treatment);

    let attempt = BlockedAttempt {
        id: 0,
        entry_id: Some(saved.id),
        direction: "inbound".into(),
        number: "+88212345".into(),
        name: "Spam".into(),
        call_uuid: "u-1".into(),
        action: "prompt".into(),
        at: 1_000,
    };
    store.record_block_hit(saved.id, &attempt).await.unwrap();
    store
        .record_block_hit(
            saved.id,
            &BlockedAttempt {
                at: 2_000,
                ..attempt.clone()
            },
        )
        .await
        .unwrap();
    let listed = store.blocks().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].hits, 2);
    assert_eq!(listed[0].last_hit_at, Some(2_000));

    let mut edited = listed[0].clone();
    edited.treatment = Treatment::Busy;
    let edited = store.save_block(&edited).await.unwrap();
    assert_eq!(edited.treatment, Treatment::Busy);
    assert_eq!(edited.hits, 2, "an edit keeps the counter");

    assert!(store.delete_block(saved.id).await.unwrap());
    assert!(store.blocks().await.unwrap().is_empty());
    let audit = store.blocked_attempts(10).await.unwrap();
    assert_eq!(audit.len(), 2, "the audit outlives the entry");
    assert_eq!(audit[0].at, 2_000);
    assert_eq!(audit[1].number, "+88212345");
}

async fn the_loaded_book_identifies_callers(db: TestDbRef) {
    let store = db.store;
    let org_id = store.save_record(&acme()).await.unwrap();
    let contact_id = store.save_record(&alexei(Some(org_id))).await.unwrap();
    store
        .save_record(&Contact {
            first_name: "John".into(),
            last_name: "Smith".into(),
            numbers: vec![number("+442079460018", NumberKind::Work)],
            priority: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    let book = PhoneBook::load(&store, Numbering::new("RU").unwrap())
        .await
        .unwrap();

    // The contact's own number, written the Russian national way: exact, and the
    // organization's VIP status raises the caller.
    let known = book.identify_written("8 (916) 123-45-67", "");
    assert_eq!(known.confidence, Confidence::Exact);
    assert_eq!(known.contact.as_ref().map(|c| c.id), Some(contact_id));
    assert_eq!(known.organization.as_ref().map(|o| o.id), Some(org_id));
    assert!(known.vip);
    assert_eq!(known.priority, 1);
    assert_eq!(
        known.label.as_deref(),
        Some("Алексей Ревенко - ООО «Ромашка»")
    );
    assert_eq!(known.e164.as_deref(), Some("+79161234567"));

    // Every form a switch or carrier gives the same number in.
    for form in [
        "+79161234567",
        "89161234567",
        "007 916 123 45 67",
        "8 10 7 916 123 45 67",
        "sip:+79161234567@carrier.example;user=phone",
        "sips:89161234567@pbx.example:5061;transport=tls",
        "tel:+7-916-123-45-67;phone-context=example.com",
    ] {
        let found = book.identify_written(form, "");
        assert_eq!(found.contact.map(|c| c.id), Some(contact_id), "{form}");
    }

    // A number inside the organization's range.
    let desk = book.identify_written("+7 495 123-99-99", "");
    assert_eq!(desk.confidence, Confidence::Organization);
    assert_eq!(desk.organization.map(|o| o.id), Some(org_id));
    assert!(desk.contact.is_none());

    // An unknown number with a caller-ID name close to a contact's.
    let named = book.identify_written("+12125550101", "Jon Smith");
    assert_eq!(named.confidence, Confidence::Fuzzy);
    assert_eq!(named.contact.map(|c| c.name), Some("John Smith".into()));
    assert_eq!(named.priority, 2);

    // Nothing known.
    let stranger = book.identify_written("+12125550102", "anonymous");
    assert_eq!(stranger.confidence, Confidence::Unknown);
    assert_eq!(stranger.priority, 0);
    assert_eq!(stranger.e164.as_deref(), Some("+12125550102"));

    // Edits reach the book without a reload.
    book.remove_contact(contact_id);
    assert_eq!(
        book.identify_written("+79161234567", "").confidence,
        Confidence::Unknown
    );
}

async fn the_book_catches_up_with_writes_from_elsewhere(db: TestDbRef) {
    let store = db.store;
    let kept = store.save_record(&alexei(None)).await.unwrap();
    let book = PhoneBook::load(&store, Numbering::new("RU").unwrap())
        .await
        .unwrap();
    assert_eq!(
        book.catch_up(&store).await.unwrap(),
        1,
        "re-reads the slack window"
    );

    // Another process (an import) adds a contact: identified after a catch-up.
    let added = store
        .save_record(&Contact {
            first_name: "Ольга".into(),
            last_name: "Смирнова".into(),
            numbers: vec![number("+74957654321", NumberKind::Work)],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        book.identify_written("+74957654321", "").confidence,
        Confidence::Unknown
    );
    assert!(book.catch_up(&store).await.unwrap() >= 1);
    let olga = book.identify_written("8 495 765-43-21", "");
    assert_eq!(olga.contact.map(|c| c.id), Some(added));

    // ...and deletes one: the book notices the count and reads everything again.
    assert!(store.delete_record::<Contact>(kept).await.unwrap());
    book.catch_up(&store).await.unwrap();
    assert_eq!(
        book.identify_written("+79161234567", "").confidence,
        Confidence::Unknown
    );
    assert_eq!(
        book.identify_written("+74957654321", "")
            .contact
            .map(|c| c.id),
        Some(added)
    );
}

/// The sync's soft removal in the store: a removed contact and organization are kept (by id,
/// by source prefix, in the removed list), saving them again keeps them removed, the book
/// loaded or caught up leaves them out (the organization's range no longer names callers), and
/// put back in use they identify again, the contact with its organization.
async fn a_removed_record_is_kept_listed_apart_and_out_of_the_book(db: TestDbRef) {
    let store = db.store;
    let numbering = Numbering::new("RU").unwrap();
    let mut org = acme();
    org.external_id = Some("itop:organization:7".into());
    org.id = store.save_record(&org).await.unwrap();
    let mut contact = alexei(Some(org.id));
    contact.external_id = Some("ldap:1f0c_%".into());
    contact.id = store.save_record(&contact).await.unwrap();
    let other = |external_id: &str, name: &str| Contact {
        external_id: Some(external_id.into()),
        first_name: name.into(),
        ..Default::default()
    };
    store
        .save_record(&other("LDAP:upper", "Upper"))
        .await
        .unwrap();
    store
        .save_record(&other("ldapx", "Lookalike"))
        .await
        .unwrap();
    let book = PhoneBook::load(&store, numbering.clone()).await.unwrap();
    let caller = |book: &PhoneBook, number: &str| {
        book.identify_written(number, "").label.unwrap_or_default()
    };
    assert_eq!(
        caller(&book, "+79161234567"),
        "Алексей Ревенко - ООО «Ромашка»"
    );

    // Exactly the source's own prefix: no case folding, `_` and `%` are plain characters.
    let synced: Vec<Contact> = store.records_with_external_prefix("ldap:").await.unwrap();
    assert_eq!(
        synced.iter().map(|c| c.id).collect::<Vec<_>>(),
        [contact.id]
    );

    assert_eq!(
        store
            .set_removed::<Contact>(&[contact.id], Some(1_000))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .set_removed::<Organization>(&[org.id], Some(2_000))
            .await
            .unwrap(),
        1
    );
    let removed: Contact = store.record(contact.id).await.unwrap();
    assert_eq!(removed.removed_at, Some(1_000));
    assert_eq!(removed.numbers, contact.numbers, "kept whole");
    // A save (an edit) writes every column but removed_at.
    store.save_record(&removed.clone()).await.unwrap();
    let mut edit = removed.clone();
    edit.removed_at = None;
    store.save_record(&edit).await.unwrap();
    assert_eq!(
        store
            .record::<Contact>(contact.id)
            .await
            .unwrap()
            .removed_at,
        Some(1_000)
    );
    assert_eq!(
        store
            .records_after_by_removal::<Contact>(0, 10, true)
            .await
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        [contact.id]
    );
    assert_eq!(
        store
            .records_after_by_removal::<Contact>(0, 10, false)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(store.count_in_use::<Contact>().await.unwrap(), 2);
    assert_eq!(store.count_in_use::<Organization>().await.unwrap(), 0);
    assert_eq!(store.count_records::<Contact>().await.unwrap(), 3);

    book.catch_up(&store).await.unwrap();
    assert_eq!(caller(&book, "+79161234567"), "");
    assert_eq!(
        caller(&book, "+74951239999"),
        "",
        "the removed organization's range"
    );
    assert!(book.search("Ревенко", 5).is_empty());
    let fresh = PhoneBook::load(&store, numbering.clone()).await.unwrap();
    assert_eq!(caller(&fresh, "+79161234567"), "");
    assert_eq!(caller(&fresh, "+74951230000"), "");

    store
        .set_removed::<Contact>(&[contact.id], None)
        .await
        .unwrap();
    store
        .set_removed::<Organization>(&[org.id], None)
        .await
        .unwrap();
    book.catch_up(&store).await.unwrap();
    assert_eq!(
        caller(&book, "+79161234567"),
        "Алексей Ревенко - ООО «Ромашка»"
    );
    assert_eq!(caller(&book, "+74951239999"), "ООО «Ромашка»");
}
