//! Rows of the phone book: organizations, contacts, assets. Lists are JSON documents; the
//! phone book is searched in memory ([`crate::directory::PhoneBook`]), so SQL here only reads
//! and writes whole records. Records with an external id are upserted by it, which makes
//! imports idempotent.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};

use super::write::Returning as _;
use super::{json, parse, Backend, Query, Store, StoreError};
use crate::clock::{self, Millis};
use crate::directory::model::{Asset, BookContact, Contact, Id, Number, Organization, Owner};

/// One kind of phone-book record, as the store reads and writes it.
pub trait Record: Sized + Send + Sync {
    /// For messages: "contact 12".
    const WHAT: &'static str;
    const TABLE: &'static str;
    /// Every column but `id`, in the order [`Record::bind_columns`] binds them.
    const COLUMNS: &'static [&'static str];
    fn id(&self) -> Id;
    fn external_id(&self) -> Option<&str>;
    fn bind_columns<'q>(&'q self, query: Query<'q>) -> Result<Query<'q>, StoreError>;
    fn from_row(row: &AnyRow) -> Result<Self, StoreError>;
}

/// A record a synchronised source may remove softly (`removed_at`, migration 0013). The
/// column is not among [`Record::COLUMNS`]: saving a record never changes it, only
/// [`Store::set_removed`] does.
pub trait Removable: Record {
    fn removed_at(&self) -> Option<i64>;
}

fn flag(row: &AnyRow, column: &str) -> Result<bool, StoreError> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

fn int(row: &AnyRow, column: &str) -> Result<i32, StoreError> {
    let value: i64 = row.try_get(column)?;
    i32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} = {value}")))
}

fn list<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T, StoreError> {
    parse(column, &row.try_get::<String, _>(column)?)
}

/// A contact as [`Store::book_contacts_after`] reads it: id, organization, first and last
/// name, aliases, numbers, VIP, priority, language.
type BookRow = (
    Id,
    Option<Id>,
    String,
    String,
    Vec<String>,
    Vec<Number>,
    i64,
    i64,
    Option<String>,
);

fn book_contact(row: BookRow) -> Result<BookContact, StoreError> {
    let (id, organization_id, first_name, last_name, aliases, numbers, vip, priority, language) =
        row;
    Ok(BookContact {
        id,
        organization_id,
        first_name,
        last_name,
        aliases,
        numbers,
        vip: vip != 0,
        priority: i32::try_from(priority)
            .map_err(|_| StoreError::Corrupt(format!("priority = {priority}")))?,
        language,
    })
}

impl Record for Organization {
    const WHAT: &'static str = "organization";
    const TABLE: &'static str = "organizations";
    const COLUMNS: &'static [&'static str] = &[
        "external_id",
        "name",
        "numbers",
        "emails",
        "fax_mailboxes",
        "vip",
        "priority",
        "notes",
        "updated_at",
    ];

    fn id(&self) -> Id {
        self.id
    }

    fn external_id(&self) -> Option<&str> {
        self.external_id.as_deref()
    }

    fn bind_columns<'q>(&'q self, query: Query<'q>) -> Result<Query<'q>, StoreError> {
        Ok(query
            .bind(self.external_id.as_deref())
            .bind(self.name.as_str())
            .bind(json(&self.numbers)?)
            .bind(json(&self.emails)?)
            .bind(json(&self.fax_mailboxes)?)
            .bind(i64::from(self.vip))
            .bind(i64::from(self.priority))
            .bind(self.notes.as_str())
            .bind(clock::now()))
    }

    fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        Ok(Organization {
            id: row.try_get("id")?,
            external_id: row.try_get("external_id")?,
            name: row.try_get("name")?,
            numbers: list(row, "numbers")?,
            emails: list(row, "emails")?,
            fax_mailboxes: list(row, "fax_mailboxes")?,
            vip: flag(row, "vip")?,
            priority: int(row, "priority")?,
            notes: row.try_get("notes")?,
            removed_at: row.try_get("removed_at")?,
        })
    }
}

impl Removable for Organization {
    fn removed_at(&self) -> Option<i64> {
        self.removed_at
    }
}

impl Record for Contact {
    const WHAT: &'static str = "contact";
    const TABLE: &'static str = "contacts";
    const COLUMNS: &'static [&'static str] = &[
        "external_id",
        "organization_id",
        "first_name",
        "last_name",
        "aliases",
        "numbers",
        "emails",
        "vip",
        "priority",
        "language",
        "notes",
        "updated_at",
    ];

    fn id(&self) -> Id {
        self.id
    }

    fn external_id(&self) -> Option<&str> {
        self.external_id.as_deref()
    }

    fn bind_columns<'q>(&'q self, query: Query<'q>) -> Result<Query<'q>, StoreError> {
        Ok(query
            .bind(self.external_id.as_deref())
            .bind(self.organization_id)
            .bind(self.first_name.as_str())
            .bind(self.last_name.as_str())
            .bind(json(&self.aliases)?)
            .bind(json(&self.numbers)?)
            .bind(json(&self.emails)?)
            .bind(i64::from(self.vip))
            .bind(i64::from(self.priority))
            .bind(self.language.as_deref())
            .bind(self.notes.as_str())
            .bind(clock::now()))
    }

    fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        Ok(Contact {
            id: row.try_get("id")?,
            external_id: row.try_get("external_id")?,
            organization_id: row.try_get("organization_id")?,
            first_name: row.try_get("first_name")?,
            last_name: row.try_get("last_name")?,
            aliases: list(row, "aliases")?,
            numbers: list(row, "numbers")?,
            emails: list(row, "emails")?,
            vip: flag(row, "vip")?,
            priority: int(row, "priority")?,
            language: row.try_get("language")?,
            notes: row.try_get("notes")?,
            removed_at: row.try_get("removed_at")?,
        })
    }
}

impl Removable for Contact {
    fn removed_at(&self) -> Option<i64> {
        self.removed_at
    }
}

impl Record for Asset {
    const WHAT: &'static str = "asset";
    const TABLE: &'static str = "assets";
    const COLUMNS: &'static [&'static str] = &[
        "external_id",
        "name",
        "kind",
        "serial",
        "location",
        "address",
        "owner_contact_id",
        "owner_organization_id",
        "notes",
        "updated_at",
    ];

    fn id(&self) -> Id {
        self.id
    }

    fn external_id(&self) -> Option<&str> {
        self.external_id.as_deref()
    }

    fn bind_columns<'q>(&'q self, query: Query<'q>) -> Result<Query<'q>, StoreError> {
        let (contact, organization) = match self.owner {
            Owner::Nobody => (None, None),
            Owner::Contact(id) => (Some(id), None),
            Owner::Organization(id) => (None, Some(id)),
        };
        Ok(query
            .bind(self.external_id.as_deref())
            .bind(self.name.as_str())
            .bind(self.kind.as_str())
            .bind(self.serial.as_str())
            .bind(self.location.as_str())
            .bind(self.address.as_str())
            .bind(contact)
            .bind(organization)
            .bind(self.notes.as_str())
            .bind(clock::now()))
    }

    fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        let contact: Option<Id> = row.try_get("owner_contact_id")?;
        let organization: Option<Id> = row.try_get("owner_organization_id")?;
        Ok(Asset {
            id: row.try_get("id")?,
            external_id: row.try_get("external_id")?,
            name: row.try_get("name")?,
            kind: row.try_get("kind")?,
            serial: row.try_get("serial")?,
            location: row.try_get("location")?,
            address: row.try_get("address")?,
            owner: match (contact, organization) {
                (Some(id), _) => Owner::Contact(id),
                (None, Some(id)) => Owner::Organization(id),
                (None, None) => Owner::Nobody,
            },
            notes: row.try_get("notes")?,
        })
    }
}

/// `$1, $2, ...` for `n` columns, starting at `from`.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes one record on `conn`: an update by id, an upsert by external id, or an insert.
/// Returns the record's id.
async fn write<R: Record>(conn: &mut AnyConnection, record: &R) -> Result<Id, StoreError> {
    let columns = R::COLUMNS.join(", ");
    let values = placeholders(1, R::COLUMNS.len());
    let what = || match record.external_id() {
        Some(external) => format!("{} with external id {external:?}", R::WHAT),
        None => format!("{} {}", R::WHAT, record.id()),
    };
    if record.id() != 0 {
        let sets = R::COLUMNS
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", i + 1))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE {} SET {sets} WHERE id = ${} RETURNING id",
            R::TABLE,
            R::COLUMNS.len() + 1
        );
        let row = record
            .bind_columns(sqlx::query(&sql))?
            .bind(record.id())
            .returning_optional(&mut *conn)
            .await
            .map_err(|e| StoreError::unique(e, what))?;
        return match row {
            Some(row) => Ok(row.try_get("id")?),
            None => Err(StoreError::NotFound(format!("{} {}", R::WHAT, record.id()))),
        };
    }
    let conflict = if record.external_id().is_some() {
        let sets = R::COLUMNS
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(" ON CONFLICT (external_id) DO UPDATE SET {sets}")
    } else {
        String::new()
    };
    let sql = format!(
        "INSERT INTO {} ({columns}) VALUES ({values}){conflict} RETURNING id",
        R::TABLE
    );
    let row = record
        .bind_columns(sqlx::query(&sql))?
        .returning_one(&mut *conn)
        .await
        .map_err(|e| StoreError::unique(e, what))?;
    Ok(row.try_get("id")?)
}

impl Store {
    /// Stores a record and returns its id (see [`write`]).
    pub async fn save_record<R: Record>(&self, record: &R) -> Result<Id, StoreError> {
        let mut conn = self.pool.acquire().await?;
        write(&mut conn, record).await
    }

    /// Stores many records in one transaction; if the batch fails, each record is tried on
    /// its own so one bad record does not take the good ones down. One result per record.
    pub async fn save_records<R: Record>(
        &self,
        records: &[R],
    ) -> Result<Vec<Result<Id, StoreError>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut ids = Vec::with_capacity(records.len());
        let mut failed = false;
        for record in records {
            match write(&mut tx, record).await {
                Ok(id) => ids.push(Ok(id)),
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if !failed {
            tx.commit().await?;
            return Ok(ids);
        }
        tx.rollback().await?;
        let mut results = Vec::with_capacity(records.len());
        for record in records {
            results.push(self.save_record(record).await);
        }
        Ok(results)
    }

    pub async fn record<R: Record>(&self, id: Id) -> Result<R, StoreError> {
        let sql = format!("SELECT * FROM {} WHERE id = $1", R::TABLE);
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("{} {id}", R::WHAT)))?;
        R::from_row(&row)
    }

    /// The record, or None when there is no such id (a link to a deleted record).
    pub async fn find_record<R: Record>(&self, id: Id) -> Result<Option<R>, StoreError> {
        match self.record(id).await {
            Ok(record) => Ok(Some(record)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn record_by_external_id<R: Record>(
        &self,
        external_id: &str,
    ) -> Result<Option<R>, StoreError> {
        let sql = format!("SELECT * FROM {} WHERE external_id = $1", R::TABLE);
        let row = sqlx::query(&sql)
            .bind(external_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(R::from_row).transpose()
    }

    /// True if it existed. Links to it (a contact's organization, an asset's owner) are
    /// cleared by the database.
    pub async fn delete_record<R: Record>(&self, id: Id) -> Result<bool, StoreError> {
        let sql = format!("DELETE FROM {} WHERE id = $1", R::TABLE);
        let done = sqlx::query(&sql).bind(id).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    /// A page of records in id order, after `after_id`: for loading the whole book and for
    /// exports without holding it all in one result set.
    pub async fn records_after<R: Record>(
        &self,
        after_id: Id,
        limit: u32,
    ) -> Result<Vec<R>, StoreError> {
        self.page_where(after_id, limit, "TRUE").await
    }

    /// A page in id order after `after_id` of the records `condition` (SQL of ours, never
    /// text from outside) accepts.
    async fn page_where<R: Record>(
        &self,
        after_id: Id,
        limit: u32,
        condition: &str,
    ) -> Result<Vec<R>, StoreError> {
        let sql = format!(
            "SELECT * FROM {} WHERE id > $1 AND {condition} ORDER BY id LIMIT $2",
            R::TABLE
        );
        let rows = sqlx::query(&sql)
            .bind(after_id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(R::from_row).collect()
    }

    /// A page of contacts in use (not removed by a sync) in id order after `after_id`, only
    /// what the in-memory phone book keeps of them: loading a million reads and converts a
    /// third of the columns.
    ///
    /// The page comes as one row: the database writes the page's rows into one JSON array
    /// (SQLite in C, PostgreSQL in its server), parsed here in one go. A million contacts are
    /// then a hundred values handed over by the driver instead of a million rows, each
    /// converted on its own: that was most of the service's start with a big book.
    pub async fn book_contacts_after(
        &self,
        after_id: Id,
        limit: u32,
    ) -> Result<Vec<BookContact>, StoreError> {
        const PAGE: &str = "SELECT id, organization_id, first_name, last_name, aliases, numbers, \
             vip, priority, language FROM contacts WHERE id > $1 AND removed_at IS NULL \
             ORDER BY id LIMIT $2";
        let sql = match self.backend() {
            Backend::Sqlite => format!(
                "SELECT json_group_array(json_array(id, organization_id, first_name, last_name, \
                 json(aliases), json(numbers), vip, priority, language)) FROM ({PAGE})"
            ),
            Backend::Postgres => format!(
                "SELECT COALESCE(json_agg(json_build_array(id, organization_id, first_name, \
                 last_name, aliases::json, numbers::json, vip, priority, language) \
                 ORDER BY id), '[]')::text FROM ({PAGE}) AS page"
            ),
        };
        let page: String = sqlx::query_scalar(&sql)
            .bind(after_id)
            .bind(i64::from(limit))
            .fetch_one(&self.pool)
            .await?;
        let rows: Vec<BookRow> = parse("contacts", &page)?;
        rows.into_iter().map(book_contact).collect()
    }

    /// Records written at or after `since` (Unix ms): how a running service catches up with
    /// imports made by another process.
    pub async fn records_changed_since<R: Record>(
        &self,
        since: Millis,
    ) -> Result<Vec<R>, StoreError> {
        let sql = format!(
            "SELECT * FROM {} WHERE updated_at >= $1 ORDER BY updated_at, id",
            R::TABLE
        );
        let rows = sqlx::query(&sql).bind(since).fetch_all(&self.pool).await?;
        rows.iter().map(R::from_row).collect()
    }

    /// Every record whose external id starts with `prefix` (`ldap:`), removed or not: what a
    /// synchronised source put in the phone book.
    pub async fn records_with_external_prefix<R: Removable>(
        &self,
        prefix: &str,
    ) -> Result<Vec<R>, StoreError> {
        // `substr`, not LIKE: `_` and `%` are ordinary characters here, and SQLite's LIKE
        // ignores case. The length is ours (a count), never text from outside.
        let sql = format!(
            "SELECT * FROM {} WHERE substr(external_id, 1, {}) = $1 ORDER BY id",
            R::TABLE,
            prefix.chars().count()
        );
        let rows = sqlx::query(&sql).bind(prefix).fetch_all(&self.pool).await?;
        rows.iter().map(R::from_row).collect()
    }

    /// Marks records removed since `at` (Unix ms), or in use again with `None`, in one
    /// transaction; `updated_at` moves, so a running phone book's catch-up sees the change.
    /// Returns how many records changed.
    pub async fn set_removed<R: Removable>(
        &self,
        ids: &[Id],
        at: Option<i64>,
    ) -> Result<u64, StoreError> {
        let sql = format!(
            "UPDATE {} SET removed_at = $1, updated_at = $2 WHERE id = $3",
            R::TABLE
        );
        let now = crate::clock::now();
        let mut tx = self.pool.begin().await?;
        let mut changed = 0;
        for id in ids {
            let done = sqlx::query(&sql)
                .bind(at)
                .bind(now)
                .bind(*id)
                .execute(&mut *tx)
                .await?;
            changed += done.rows_affected();
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// A page in id order after `after_id` of the removed records (`removed`) or of those
    /// in use.
    pub async fn records_after_by_removal<R: Removable>(
        &self,
        after_id: Id,
        limit: u32,
        removed: bool,
    ) -> Result<Vec<R>, StoreError> {
        let condition = if removed {
            "removed_at IS NOT NULL"
        } else {
            "removed_at IS NULL"
        };
        self.page_where(after_id, limit, condition).await
    }

    /// Records not removed: what the in-memory phone book holds.
    pub async fn count_in_use<R: Removable>(&self) -> Result<u64, StoreError> {
        let sql = format!(
            "SELECT COUNT(*) AS n FROM {} WHERE removed_at IS NULL",
            R::TABLE
        );
        let n: i64 = sqlx::query(&sql)
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    pub async fn contacts_of_organization(&self, id: Id) -> Result<Vec<Contact>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM contacts WHERE organization_id = $1 ORDER BY last_name, first_name, id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Contact::from_row).collect()
    }

    /// Assets owned by the contact or by the organization.
    pub async fn assets_of(&self, owner: Owner) -> Result<Vec<Asset>, StoreError> {
        let (sql, id) = match owner {
            Owner::Nobody => return Ok(Vec::new()),
            Owner::Contact(id) => (
                "SELECT * FROM assets WHERE owner_contact_id = $1 ORDER BY name, id",
                id,
            ),
            Owner::Organization(id) => (
                "SELECT * FROM assets WHERE owner_organization_id = $1 ORDER BY name, id",
                id,
            ),
        };
        let rows = sqlx::query(sql).bind(id).fetch_all(&self.pool).await?;
        rows.iter().map(Asset::from_row).collect()
    }

    pub async fn count_records<R: Record>(&self) -> Result<u64, StoreError> {
        let sql = format!("SELECT COUNT(*) AS n FROM {}", R::TABLE);
        let n: i64 = sqlx::query(&sql)
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
