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
        ca_file: None,
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

/// Runs `pointcast admin reset-password` against the app's database.
async fn reset_password(
    app: &TestApp,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: &str,
) -> std::process::Output {
    use tokio::io::AsyncWriteExt;
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_pointcast"));
    cmd.args(["admin", "reset-password", "--database-url", &app.db.url])
        .args(args)
        .env_remove("POINTCAST_ADMIN_PASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn pointcast admin");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    tokio::time::timeout(std::time::Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("reset-password finishes")
        .unwrap()
}

#[tokio::test]
async fn an_operator_resets_the_admin_password_from_the_command_line() {
    use reqwest::StatusCode;
    let app = spawn_app().await;
    let owner = app.owner("owner.park", &[]).await;

    // From stdin: the new password logs in, the old sessions (the admin token) end.
    let out = reset_password(&app, &["--password-stdin"], &[], "a-new-secret-1\n").await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        app.try_login("admin", "a-new-secret-1").await.status(),
        StatusCode::OK
    );
    // Another process changed the file: the server's session cache sees it within
    // its freshness window (`db::session_cache::FRESH_FOR`, 5 s).
    assert!(
        eventually(|| async {
            app.get("/api/v1/me", Some(ADMIN_TOKEN)).await.status() == StatusCode::UNAUTHORIZED
        })
        .await,
        "the admin's old sessions end"
    );

    // Generated: printed once, and it works.
    let out = reset_password(&app, &[], &[], "").await;
    assert!(out.status.success());
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let pw = printed
        .split("new password of admin: ")
        .nth(1)
        .and_then(|s| s.lines().next())
        .expect(&printed)
        .to_string();
    assert_eq!(app.try_login("admin", &pw).await.status(), StatusCode::OK);

    // From the environment.
    let env = [("POINTCAST_ADMIN_PASSWORD", "from-the-env-1")];
    assert!(reset_password(&app, &[], &env, "").await.status.success());
    assert_eq!(
        app.try_login("admin", "from-the-env-1").await.status(),
        StatusCode::OK
    );

    // Refused, changing nothing: a short password, an owner's login, no such login.
    let short = reset_password(&app, &["--password-stdin"], &[], "short\n").await;
    assert_eq!(short.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&short.stderr).contains("8 to 128"));
    for login in [owner.login.as_str(), "nobody"] {
        let out = reset_password(&app, &["--login", login], &[], "").await;
        assert_eq!(out.status.code(), Some(2), "{login}");
    }
    assert_eq!(
        app.try_login("admin", "from-the-env-1").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/me", Some(&owner.token)).await.status(),
        StatusCode::OK
    );
}
