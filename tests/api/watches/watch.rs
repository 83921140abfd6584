//! Watching a sold-out album: start, again, list, stop; and each refusal, which
//! changes nothing.

use reqwest::StatusCode;
use serde_json::Value;

use super::*;

#[tokio::test]
async fn a_customer_watches_a_sold_out_album_lists_it_and_stops() {
    let app = spawn_app().await;
    let shop = open_shop(&app, "w1", 0).await;
    let kim = app.customer("Kim").await;
    let lee = app.customer("Lee").await;

    let r = watch(&app, &kim.token, shop.store, shop.album).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let w = json_of(r).await;
    assert_eq!(w["store_id"], shop.store);
    assert_eq!(w["store_name"], "Store w1");
    assert_eq!(w["product_id"], shop.album);
    assert_eq!(w["title"], "Album w1");
    assert_eq!(w["artist"], "Test Artist");
    let r = watch(&app, &kim.token, shop.store, shop.album).await;
    assert_eq!(r.status(), StatusCode::OK, "already watching");
    assert_eq!(json_of(r).await, w, "the same watch");

    let list = watches(&app, &kim).await;
    assert_eq!(list, vec![w.clone()]);
    assert_eq!(watches(&app, &lee).await, Vec::<Value>::new());
    let url = format!("/api/v1/users/{}/watches", kim.id);
    let r = app.get(&url, Some(&lee.token)).await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::FORBIDDEN, "forbidden".into())
    );
    let r = app.get(&url, Some(&shop.owner.token)).await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "not a store's staff either"
    );
    let r = app.get(&url, Some(ADMIN_TOKEN)).await;
    assert_eq!(json_of(r).await["watches"], serde_json::json!([w]));
    let r = app
        .get("/api/v1/users/999999/watches", Some(ADMIN_TOKEN))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let r = unwatch(&app, &lee.token, shop.store, shop.album).await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::NOT_FOUND, "not_found".into())
    );
    assert_eq!(
        watches(&app, &kim).await.len(),
        1,
        "Lee's unwatch is not Kim's"
    );
    let r = unwatch(&app, &kim.token, shop.store, shop.album).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(watches(&app, &kim).await, Vec::<Value>::new());
    let r = unwatch(&app, &kim.token, shop.store, shop.album).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "not watching any more");
    app.stop().await;
}

#[tokio::test]
async fn refusals_change_nothing() {
    let app = spawn_app().await;
    let shop = open_shop(&app, "w2", 3).await;
    let kim = app.customer("Kim").await;

    // In stock at this store: buy it instead.
    let r = watch(&app, &kim.token, shop.store, shop.album).await;
    let status = r.status();
    let v = json_of(r).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(v["error"]["code"], "in_stock");
    assert_eq!(v["error"]["quantity"], 3);
    assert_eq!(watches(&app, &kim).await, Vec::<Value>::new());

    // Unknown store or album.
    for (store, album) in [(999_999, shop.album), (shop.store, 999_999)] {
        let r = watch(&app, &kim.token, store, album).await;
        assert_eq!(
            error_code(r).await,
            (StatusCode::NOT_FOUND, "not_found".into())
        );
        let r = unwatch(&app, &kim.token, store, album).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }

    // Staff do not watch: the owner, an owner of another store, an admin.
    let r = set_stock(&app, ADMIN_TOKEN, shop.store, shop.album, 0).await;
    assert_eq!(r.status(), StatusCode::OK);
    let other = app.store("Elsewhere").await;
    let stranger = app.owner("owner.elsewhere", &[other]).await;
    for token in [&shop.owner.token, &stranger.token, &ADMIN_TOKEN.to_string()] {
        let r = watch(&app, token, shop.store, shop.album).await;
        assert_eq!(
            error_code(r).await,
            (StatusCode::FORBIDDEN, "forbidden".into())
        );
        let r = unwatch(&app, token, shop.store, shop.album).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    let r = app
        .get(
            &format!("/api/v1/users/{}/watches", shop.owner.id),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(json_of(r).await["watches"], serde_json::json!([]));

    // Without a login.
    let r = app
        .client
        .put(app.url(&watch_url(shop.store, shop.album)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Now sold out, Kim may.
    let r = watch(&app, &kim.token, shop.store, shop.album).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    app.stop().await;
}

#[tokio::test]
async fn an_album_the_store_never_held_can_be_watched() {
    let app = spawn_app().await;
    let shop = open_shop(&app, "w3", 2).await;
    let other = app.store("Store w3b").await;
    let kim = app.customer("Kim").await;
    let r = watch(&app, &kim.token, other, shop.album).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(stock(&app, other, shop.album).await, 0);
    let r = adjust(&app, ADMIN_TOKEN, other, shop.album, 1).await;
    assert_eq!(r.status(), StatusCode::OK);
    let got = told(&app, &kim).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["data"]["store"]["id"], other);
    assert_eq!(got[0]["data"]["quantity"], 1);
    app.stop().await;
}
