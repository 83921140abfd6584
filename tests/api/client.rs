//! The terminal client (`pointcast shop`) driven through `client::run_with`, as a
//! person at a terminal would type: logging in after a wrong password, and starting
//! a chat with one of their stores.

use pointcast::client::{self, ClientOptions, Lang, UserError};
use serde_json::Value;

use crate::helpers::*;

fn options(app: &TestApp, login: &str) -> ClientOptions {
    ClientOptions {
        url: app.address.clone(),
        login: Some(login.to_string()),
        password: None,
        lang: Lang::En,
    }
}

/// Runs the client on `input`; its result and everything it printed.
async fn drive(opts: ClientOptions, input: &str) -> (anyhow::Result<()>, String) {
    let mut out = Vec::new();
    let result = client::run_with(opts, input.as_bytes(), &mut out).await;
    (result, String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test]
async fn a_wrong_password_can_be_typed_again_and_the_right_one_logs_in() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;

    let (result, out) = drive(
        options(&app, &kim.login),
        "not-my-password\npassword123\n0\n",
    )
    .await;

    assert!(result.is_ok(), "{out}");
    let failed = out.find("Login failed").expect(&out);
    let again = out.find("Try again.").expect(&out);
    let welcome = out.find("Welcome, Kim.").expect(&out);
    assert!(failed < again && again < welcome, "{out}");
    assert!(out.trim_end().ends_with("Bye."), "{out}");
}

#[tokio::test]
async fn three_wrong_passwords_end_with_a_plain_user_error() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;

    let (result, out) = drive(
        options(&app, &kim.login),
        "a1234567\nb1234567\nc1234567\n0\n",
    )
    .await;

    let err = result.expect_err("no login");
    assert!(err.downcast_ref::<UserError>().is_some(), "{err:?}");
    assert_eq!(err.to_string(), "Not logged in.");
    assert_eq!(
        out.matches("Login failed").count(),
        client::PASSWORD_ATTEMPTS
    );
    assert!(!out.contains("Welcome"), "{out}");
}

#[tokio::test]
async fn a_customer_of_two_stores_picks_the_store_their_chat_goes_to() {
    let app = spawn_app().await;
    let (hongdae, gangnam) = (app.store("Hongdae").await, app.store("Gangnam").await);
    let choi = app.owner("owner.choi", &[gangnam]).await;
    let kim = app.customer("Kim").await;
    app.join(hongdae, &kim).await;
    app.join(gangnam, &kim).await;
    let mut opts = options(&app, &kim.login);
    opts.password = Some("password123".into());

    let script = format!("4\n{gangnam}\nIs the LP back?\nEXIT\n0\n");
    let (result, out) = drive(opts, &script).await;

    assert!(result.is_ok(), "{out}");
    assert!(out.contains(&format!("[{hongdae}] Hongdae")), "{out}");
    assert!(out.contains(&format!("[{gangnam}] Gangnam")), "{out}");
    let list: Value = app
        .get("/api/v1/support/conversations", Some(&choi.token))
        .await
        .json()
        .await
        .unwrap();
    let c = &list["conversations"][0];
    assert_eq!(c["store_id"], gangnam, "{list}");
    assert_eq!(c["status"], "closed");
    let thread: Value = app
        .get(
            &format!("/api/v1/support/conversations/{}", c["id"]),
            Some(&choi.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(thread["messages"][0]["text"], "Is the LP back?");
}
