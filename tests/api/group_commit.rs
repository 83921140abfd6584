//! The durable write path under concurrency, at the storage handle: SQLite's
//! group-commit writer commits many requests' transactions at once and undoes
//! only a failed one's part; PostgreSQL's readers never pass an id that a
//! still-open transaction holds.

use pointcast::db::Db;
use serde_json::json;

use crate::helpers::TestDb;

/// Writes one `meta` row and one event in `tx`.
async fn write(tx: &mut pointcast::db::Tx, i: usize) -> i64 {
    pointcast::db::sql::query("INSERT INTO meta (key, value) VALUES ($1, 'x')")
        .bind(format!("group-{i}"))
        .execute(tx.conn())
        .await
        .unwrap();
    tx.append_json("announcements", "app.test", &json!({ "i": i }))
        .await
        .unwrap()
}

async fn meta_keys(db: &Db) -> Vec<String> {
    sqlx::query_scalar("SELECT key FROM meta WHERE key LIKE 'group-%' ORDER BY key")
        .fetch_all(db.reader())
        .await
        .unwrap()
}

#[tokio::test]
async fn queued_transactions_share_one_commit_and_a_failed_one_undoes_only_its_part() {
    let t = TestDb::new().await;
    if t.is_postgres() {
        return; // PostgreSQL commits each transaction itself; see the test below.
    }
    let db = Db::connect(&t.url).await.unwrap();
    let (commits_before, syncs_before) = db.group_commit_counts().unwrap();
    let batches_before = db.write_batches().unwrap();
    // The first transaction holds the writer while nine more queue for it.
    let mut first = db.begin().await.unwrap();
    let others: Vec<_> = (1..10)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut tx = db.begin().await.unwrap();
                let id = write(&mut tx, i).await;
                if i % 3 == 0 {
                    drop(tx); // refused: its row and event must go, nobody else's
                    None
                } else {
                    tx.commit().await.unwrap();
                    Some(id)
                }
            })
        })
        .collect();
    // A pass of this single-threaded runtime: each task asks for its turn (its
    // first poll queues it).
    for _ in 0..4 {
        tokio::task::yield_now().await;
    }
    let first_id = write(&mut first, 0).await;
    first.commit().await.unwrap();
    let mut committed = vec![first_id];
    for task in others {
        committed.extend(task.await.unwrap());
    }
    let (commits_after, syncs_after) = db.group_commit_counts().unwrap();
    assert_eq!(
        db.write_batches().unwrap() - batches_before,
        1,
        "ten transactions queued together commit once"
    );
    assert_eq!(syncs_after - syncs_before, 1, "and share one WAL sync");
    assert_eq!(commits_after - commits_before, 7, "seven of them kept");
    let keys = meta_keys(&db).await;
    assert_eq!(
        keys,
        [
            "group-0", "group-1", "group-2", "group-4", "group-5", "group-7", "group-8"
        ]
    );
    let logged: Vec<i64> = db
        .log()
        .after(0, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(logged, committed, "the kept events, durable, in id order");
}

#[tokio::test]
async fn a_reader_never_passes_an_id_that_an_open_transaction_holds() {
    let t = TestDb::new().await;
    if !t.is_postgres() {
        return; // one SQLite writer: a second transaction cannot even start.
    }
    let db = Db::connect(&t.url).await.unwrap();
    let mut slow = db.begin().await.unwrap();
    let held = write(&mut slow, 0).await;
    let mut quick = db.begin().await.unwrap();
    let later = write(&mut quick, 1).await;
    assert!(later > held);
    quick.commit().await.unwrap();
    let visible: Vec<i64> = db
        .log()
        .after(0, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert!(
        visible.is_empty(),
        "{later} is committed but {held} is still open: nothing past it may be read, got {visible:?}"
    );
    slow.commit().await.unwrap();
    // Its lock went with its commit: the horizon moves past both.
    let all = db.log().after(0, 100).await.unwrap();
    let ids: Vec<i64> = all.iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![held, later]);
}

/// A test event for standalone appends.
#[derive(serde::Serialize)]
struct Note {
    i: usize,
}

impl pointcast::events::Payload for Note {
    const TYPE: &'static str = "app.test";
}

#[tokio::test]
async fn appends_queued_behind_a_transaction_commit_after_it_together_and_in_id_order() {
    let t = TestDb::new().await;
    if t.is_postgres() {
        return; // PostgreSQL appends in a transaction of their own, each.
    }
    let db = Db::connect(&t.url).await.unwrap();
    let batches_before = db.write_batches().unwrap();
    let channels = vec!["announcements".to_string()];
    // A transaction holds the writer while five appends (one to a user who does
    // not exist) and then one more transaction queue behind it.
    let mut first = db.begin().await.unwrap();
    let appends: Vec<_> = (1..=5)
        .map(|i| {
            let (db, channels) = (db.clone(), channels.clone());
            tokio::spawn(async move {
                let gone = (i == 3).then_some(i64::MAX);
                db.log().append_alone(&channels, &Note { i }, gone).await
            })
        })
        .collect();
    for _ in 0..4 {
        tokio::task::yield_now().await;
    }
    let last = {
        let db = db.clone();
        tokio::spawn(async move {
            let mut tx = db.begin().await.unwrap();
            let id = write(&mut tx, 6).await;
            tx.commit().await.unwrap();
            id
        })
    };
    for _ in 0..4 {
        tokio::task::yield_now().await;
    }
    let first_id = write(&mut first, 0).await;
    first.commit().await.unwrap();
    let mut appended = Vec::new();
    for (i, task) in appends.into_iter().enumerate() {
        let id = task.await.unwrap().unwrap();
        if i + 1 == 3 {
            assert_eq!(id, None, "nothing appended for a user who does not exist");
        } else {
            appended.push(id.expect("appended"));
        }
    }
    let last_id = last.await.unwrap();
    assert_eq!(
        db.write_batches().unwrap() - batches_before,
        3,
        "the transaction, the four appends together, the next transaction"
    );
    let mut expected = vec![first_id];
    expected.extend(&appended);
    expected.push(last_id);
    let logged: Vec<(i64, String)> = db
        .log()
        .after(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.id, e.data))
        .collect();
    assert_eq!(
        logged.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        expected,
        "durable, in id order, in the order they queued"
    );
    assert_eq!(logged[1].1, r#"{"i":1}"#);
    assert_eq!(logged[4].1, r#"{"i":5}"#);
}

#[tokio::test]
async fn an_event_to_many_channels_holds_the_horizon_too_and_takes_ids_in_channel_order() {
    let t = TestDb::new().await;
    if !t.is_postgres() {
        return; // one SQLite writer: a second transaction cannot even start.
    }
    let db = Db::connect(&t.url).await.unwrap();
    // The first append of this transaction goes to three channels at once, in
    // one statement: the append lock must still come before its ids.
    let mut slow = db.begin().await.unwrap();
    let channels = ["user:1", "store:1", "announcements"];
    let held = slow.emit_to(&channels, &Note { i: 0 }).await.unwrap();
    let mut quick = db.begin().await.unwrap();
    let later = write(&mut quick, 1).await;
    assert!(later > held);
    quick.commit().await.unwrap();
    let visible = db.log().after(0, 100).await.unwrap();
    assert!(
        visible.is_empty(),
        "{later} is committed but the open transaction holds ids up to {held}: got {visible:?}"
    );
    slow.commit().await.unwrap();
    let all = db.log().after(0, 100).await.unwrap();
    let order: Vec<&str> = all.iter().map(|e| e.channel.as_str()).collect();
    assert_eq!(
        order,
        ["user:1", "store:1", "announcements", "announcements"]
    );
    assert_eq!(all[2].id, held);
    assert_eq!(all[3].id, later);
}

/// A reader's backlog stops at the publish horizon, which only the tailer
/// moved: a handle connected after events were written (a restarted server,
/// before its tailer's first pass) read an empty log, and a poll with
/// `timeout=0` right after a restart answered nothing. Connecting reads the
/// horizon once. (No tailer runs here, so nothing else could move it.)
#[tokio::test]
async fn a_fresh_connection_reads_the_backlog_written_before_it() {
    let t = TestDb::new().await;
    let first = Db::connect(&t.url).await.unwrap();
    let mut tx = first.begin().await.unwrap();
    let id = write(&mut tx, 1).await;
    tx.commit().await.unwrap();
    first.close().await;

    let restarted = Db::connect(&t.url).await.unwrap();
    let channels = ["announcements".to_string()];
    let backlog = restarted
        .log()
        .backlog(
            &pointcast::db::events::ChannelSet {
                exact: &channels,
                all_stores: false,
            },
            0,
            100,
        )
        .await
        .unwrap();
    assert_eq!(backlog.iter().map(|e| e.id).collect::<Vec<_>>(), vec![id]);
}
