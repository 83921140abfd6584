//! `stock.back`: a count, an adjustment or a return that brings an album back from
//! 0 tells each watcher once and ends their watch; nothing else tells anyone.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;

#[tokio::test]
async fn a_count_from_zero_tells_each_watcher_once_and_ends_the_watch() {
    let app = spawn_app().await;
    let shop = open_shop(&app, "b1", 0).await;
    let (kim, lee, park) = (
        app.customer("Kim").await,
        app.customer("Lee").await,
        app.customer("Park").await,
    );
    for u in [&kim, &lee] {
        let r = watch(&app, &u.token, shop.store, shop.album).await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let r = set_stock(&app, &shop.owner.token, shop.store, shop.album, 4).await;
    assert_eq!(r.status(), StatusCode::OK);

    for u in [&kim, &lee] {
        let got = told(&app, u).await;
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0]["type"], "stock.back");
        assert_eq!(got[0]["channel"], format!("user:{}", u.id));
        assert_eq!(
            got[0]["data"],
            json!({
                "store": {"id": shop.store, "name": "Store b1"},
                "product": {"id": shop.album, "title": "Album b1", "artist": "Test Artist"},
                "quantity": 4,
            })
        );
        assert_eq!(
            watches(&app, u).await,
            Vec::<Value>::new(),
            "the watch ended"
        );
    }
    assert_eq!(told(&app, &park).await, Vec::<Value>::new(), "not watching");

    // Up again, down to 0 and back: nobody is watching any more.
    assert_eq!(
        adjust(&app, ADMIN_TOKEN, shop.store, shop.album, 2)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        set_stock(&app, ADMIN_TOKEN, shop.store, shop.album, 0)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        adjust(&app, ADMIN_TOKEN, shop.store, shop.album, 1)
            .await
            .status(),
        StatusCode::OK
    );
    for u in [&kim, &lee] {
        assert_eq!(told(&app, u).await.len(), 1, "still once");
    }
    app.stop().await;
}

#[tokio::test]
async fn an_adjustment_from_zero_tells_and_a_rise_from_three_to_five_tells_nobody() {
    let app = spawn_app().await;
    let shop = open_shop(&app, "b2", 0).await;
    let kim = app.customer("Kim").await;
    assert_eq!(
        watch(&app, &kim.token, shop.store, shop.album)
            .await
            .status(),
        StatusCode::CREATED
    );
    // A count of 0 to 0 is no restock.
    assert_eq!(
        set_stock(&app, ADMIN_TOKEN, shop.store, shop.album, 0)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(told(&app, &kim).await.len(), 0);
    assert_eq!(watches(&app, &kim).await.len(), 1);

    assert_eq!(
        adjust(&app, &shop.owner.token, shop.store, shop.album, 3)
            .await
            .status(),
        StatusCode::OK
    );
    let got = told(&app, &kim).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["data"]["quantity"], 3);
    assert_eq!(watches(&app, &kim).await.len(), 0);

    // In stock now: a new watch is refused, and 3 to 5 (either way) tells nobody.
    let r = watch(&app, &kim.token, shop.store, shop.album).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(
        adjust(&app, ADMIN_TOKEN, shop.store, shop.album, 2)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        set_stock(&app, ADMIN_TOKEN, shop.store, shop.album, 5)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(told(&app, &kim).await.len(), 1, "only the restock from 0");
    app.stop().await;
}

#[tokio::test]
async fn a_return_that_brings_the_stock_back_from_zero_tells_the_watcher() {
    let app = spawn_app().await;
    let shop = open_shop(&app, "b3", 2).await;
    let (buyer, kim) = (app.customer("Buyer").await, app.customer("Kim").await);
    let r = app
        .client
        .post(app.url("/api/v1/orders"))
        .bearer_auth(&buyer.token)
        .header("Idempotency-Key", key())
        .json(&json!({"store_id": shop.store, "product_id": shop.album, "quantity": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let order = json_of(r).await["order"]["id"].as_i64().unwrap();
    assert_eq!(stock(&app, shop.store, shop.album).await, 0);
    assert_eq!(
        watch(&app, &kim.token, shop.store, shop.album)
            .await
            .status(),
        StatusCode::CREATED
    );

    let r = app
        .client
        .post(app.url(&format!("/api/v1/orders/{order}/returns")))
        .bearer_auth(&shop.owner.token)
        .header("Idempotency-Key", key())
        .json(&json!({"quantity": 1, "reason": "scratched sleeve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let got = told(&app, &kim).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["data"]["quantity"], 1);
    assert_eq!(got[0]["data"]["product"]["id"], shop.album);
    assert_eq!(watches(&app, &kim).await, Vec::<Value>::new());
    assert_eq!(
        told(&app, &buyer).await,
        Vec::<Value>::new(),
        "the buyer was not watching"
    );
    app.stop().await;
}

#[tokio::test]
async fn concurrent_restocks_tell_each_watcher_once() {
    let app = spawn_app().await;
    for round in 0..4 {
        let shop = open_shop(&app, &format!("b4-{round}"), 0).await;
        let watchers = [
            app.customer(&format!("Kim {round}")).await,
            app.customer(&format!("Lee {round}")).await,
        ];
        for u in &watchers {
            let r = watch(&app, &u.token, shop.store, shop.album).await;
            assert_eq!(r.status(), StatusCode::CREATED);
        }
        let restocks = (0..4).map(|i| {
            let app = &app;
            let (store, album) = (shop.store, shop.album);
            async move {
                if i % 2 == 0 {
                    adjust(app, ADMIN_TOKEN, store, album, 1).await.status()
                } else {
                    set_stock(app, ADMIN_TOKEN, store, album, 3).await.status()
                }
            }
        });
        for s in join_all(restocks).await {
            assert_eq!(s, StatusCode::OK);
        }
        for u in &watchers {
            assert_eq!(told(&app, u).await.len(), 1, "round {round}");
            assert_eq!(watches(&app, u).await, Vec::<Value>::new());
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn a_watch_racing_a_restock_is_either_told_or_refused() {
    let app = spawn_app().await;
    for round in 0..3 {
        let shop = open_shop(&app, &format!("b5-{round}"), 0).await;
        let mut customers = Vec::new();
        for i in 0..4 {
            customers.push(app.customer(&format!("C{round}-{i}")).await);
        }
        let watching = join_all(
            customers
                .iter()
                .map(|u| async { watch(&app, &u.token, shop.store, shop.album).await.status() }),
        );
        let restock = adjust(&app, ADMIN_TOKEN, shop.store, shop.album, 2);
        let (statuses, restocked) = tokio::join!(watching, restock);
        assert_eq!(restocked.status(), StatusCode::OK);
        for (u, status) in customers.iter().zip(statuses) {
            let got = told(&app, u).await.len();
            match status {
                StatusCode::CREATED => assert_eq!(got, 1, "a watch before the restock is told"),
                StatusCode::CONFLICT => assert_eq!(got, 0, "refused after it"),
                s => panic!("watch answered {s}"),
            }
            assert_eq!(
                watches(&app, u).await,
                Vec::<Value>::new(),
                "no watch survives"
            );
        }
    }
    app.stop().await;
}
