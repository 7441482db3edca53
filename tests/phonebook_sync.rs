//! The sync's framework on both backends, fed snapshots by hand in the shape iTop's source
//! gives them (organizations of its own, persons linked by the organization's key): upserts by
//! namespaced external ids, links by key, refusals per record, what switchdesk keeps of its
//! own, soft removal and restoring. The LDAP source against a real slapd is
//! `phonebook_sync_ldap.rs`.

#[macro_use]
mod common;

use common::{TestDb, TestDbRef};
use switchdesk::directory::model::{Contact, Number, NumberKind, Organization};
use switchdesk::directory::number::Numbering;
use switchdesk::directory::sync::{
    apply, Namespace, Snapshot, SourceContact, SourceNumber, SourceOrganization,
};
use switchdesk::store::Store;

on_both_backends!(
    a_source_with_organizations_links_by_key_and_removes_what_it_dropped,
    an_empty_snapshot_removes_everything_and_says_so,
);

fn numbering() -> Numbering {
    Numbering::with_regions(Some("RU"), &["GB", "US"]).unwrap()
}

fn phone(text: &str, kind: NumberKind) -> SourceNumber {
    SourceNumber {
        text: text.to_owned(),
        kind,
    }
}

fn organization(key: &str, name: &str, numbers: Vec<SourceNumber>) -> SourceOrganization {
    SourceOrganization {
        source_id: key.to_owned(),
        name: name.to_owned(),
        numbers,
        emails: Vec::new(),
    }
}

fn person(key: &str, first: &str, last: &str, organization: &str) -> SourceContact {
    SourceContact {
        source_id: key.to_owned(),
        organization_source_id: Some(organization.to_owned()),
        first_name: first.to_owned(),
        last_name: last.to_owned(),
        ..SourceContact::default()
    }
}

fn snapshot() -> Snapshot {
    let mut ivan = person("34", "Иван", "Петров", "12");
    ivan.numbers = vec![
        phone("12", NumberKind::Work),
        phone("+7 916 123-45-67", NumberKind::Mobile),
    ];
    ivan.emails = vec![" i.petrov@acme.example ".to_owned(), String::new()];
    Snapshot {
        organizations: vec![
            organization(
                "12",
                "Acme",
                vec![phone("8 (495) 123-45-00", NumberKind::Work)],
            ),
            organization("13", "Globex", Vec::new()),
            organization("14", " ", Vec::new()),
        ],
        contacts: vec![
            ivan,
            person("35", "Jane", "Doe", "99"),
            person("36", "", "", "12"),
        ],
    }
}

async fn by_external_id<R: switchdesk::store::Record>(store: &Store, id: &str) -> R {
    store
        .record_by_external_id(id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{id} is stored"))
}

async fn a_source_with_organizations_links_by_key_and_removes_what_it_dropped(db: TestDbRef) {
    let store = &db.store;
    let report = apply(store, &numbering(), Namespace::ITOP, snapshot())
        .await
        .unwrap();
    assert_eq!(
        (
            report.organizations.created,
            report.organizations.not_stored
        ),
        (2, 1)
    );
    assert_eq!(
        (report.contacts.created, report.contacts.not_stored),
        (2, 1)
    );
    assert!(report.organizations_created.is_empty(), "linked by key");
    let refused: Vec<String> = report.refused.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        refused,
        [
            "itop:organization:14 (no name): not stored: an organization needs a name",
            "itop:person:34 (Иван Петров): phones: \"12\" is not a valid number for RU, GB, US",
            "itop:person:35 (Jane Doe): organization: the source's organization \"99\" is not \
             among those synced",
            "itop:person:36 (no name): not stored: a contact needs a first or last name",
        ]
    );
    let acme: Organization = by_external_id(store, "itop:organization:12").await;
    assert_eq!(
        acme.numbers,
        [Number {
            number: "+74951234500".into(),
            kind: NumberKind::Work
        }]
    );
    let ivan: Contact = by_external_id(store, "itop:person:34").await;
    assert_eq!(ivan.organization_id, Some(acme.id));
    assert_eq!(ivan.emails, ["i.petrov@acme.example"]);
    assert_eq!(
        ivan.numbers,
        [Number {
            number: "+79161234567".into(),
            kind: NumberKind::Mobile
        }]
    );
    let jane: Contact = by_external_id(store, "itop:person:35").await;
    assert_eq!(jane.organization_id, None);

    // What routes calls is switchdesk's own: a supervisor's VIP flag and range stay.
    let mut edited = acme.clone();
    edited.vip = true;
    edited.numbers.push(Number {
        number: "+7495123".into(),
        kind: NumberKind::Range,
    });
    store.save_record(&edited).await.unwrap();
    let again = apply(store, &numbering(), Namespace::ITOP, snapshot())
        .await
        .unwrap();
    assert_eq!(
        (again.organizations.unchanged, again.contacts.unchanged),
        (2, 2)
    );
    assert_eq!(
        by_external_id::<Organization>(store, "itop:organization:12").await,
        edited
    );

    // Globex and Jane gone at the source; Acme renamed.
    let mut fewer = snapshot();
    fewer.organizations.retain(|o| o.source_id == "12");
    fewer.organizations[0].name = "Acme Ltd".into();
    fewer.contacts.retain(|c| c.source_id == "34");
    let removal = apply(store, &numbering(), Namespace::ITOP, fewer)
        .await
        .unwrap();
    assert_eq!(
        (removal.organizations.updated, removal.organizations.removed),
        (1, 1)
    );
    assert_eq!(
        (removal.contacts.unchanged, removal.contacts.removed),
        (1, 1)
    );
    let globex: Organization = by_external_id(store, "itop:organization:13").await;
    assert!(globex.removed_at.is_some());
    let acme: Organization = by_external_id(store, "itop:organization:12").await;
    assert_eq!((acme.name.as_str(), acme.vip), ("Acme Ltd", true));

    // Back at the source: restored, the same records.
    let back = apply(store, &numbering(), Namespace::ITOP, snapshot())
        .await
        .unwrap();
    assert_eq!(
        (back.organizations.restored, back.contacts.restored),
        (1, 1)
    );
    let globex_back: Organization = by_external_id(store, "itop:organization:13").await;
    assert_eq!((globex_back.id, globex_back.removed_at), (globex.id, None));
}

async fn an_empty_snapshot_removes_everything_and_says_so(db: TestDbRef) {
    let store = &db.store;
    apply(store, &numbering(), Namespace::ITOP, snapshot())
        .await
        .unwrap();
    // Another source's records are not this one's to remove.
    store
        .save_record(&Contact {
            external_id: Some("ldap:0c1d".into()),
            first_name: "Directory".into(),
            ..Contact::default()
        })
        .await
        .unwrap();
    let report = apply(store, &numbering(), Namespace::ITOP, Snapshot::default())
        .await
        .unwrap();
    assert_eq!(
        (report.organizations.removed, report.contacts.removed),
        (2, 2)
    );
    assert_eq!(
        report.warnings,
        [
            "the source holds no organizations now: all 2 of them were marked removed (they \
             come back with the next sync that finds them)",
            "the source holds no contacts now: all 2 of them were marked removed (they come \
             back with the next sync that finds them)",
        ]
    );
    assert_eq!(store.count_in_use::<Contact>().await.unwrap(), 1);
}
