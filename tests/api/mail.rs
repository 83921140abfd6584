//! Inquiry mail as a standards-following mail reader sees it: Python's `email`
//! package parses the mail the SMTP sink received back to the exact Korean text
//! that was sent (subject, body and sender name).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::smtp_sink::SmtpSink;

const PARSE: &str = r#"
import email, email.policy, json, sys
m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.default)
print(json.dumps({
    "subject": str(m["subject"]),
    "from_name": m["from"].addresses[0].display_name,
    "from_addr": m["from"].addresses[0].addr_spec,
    "content_type": m.get_content_type(),
    "charset": m.get_content_charset(),
    "mime_version": m["mime-version"],
    "body": m.get_content(),
}))
"#;

#[tokio::test]
async fn an_inquiry_in_korean_reaches_a_mail_reader_as_korean() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(move |s| {
        s.smtp_url = Some(url);
        s.admin_email = Some("admin@pointcast.test".into());
        s.mail.from = "강남 레코드 고객센터 <help@pointcast.test>".into();
        s.mail.retry_initial = Duration::from_millis(100);
        s.mail.poll_interval = Duration::from_millis(500);
    })
    .await;
    let subject = "대량 주문 문의 — 앨범 40장";
    let message = "안녕하세요.\n다음 주까지 40장 주문할 수 있을까요?\n감사합니다 🙏 (Kim)";
    let r = app
        .post(
            "/api/v1/inquiries",
            None,
            &json!({"subject": subject, "message": message, "reply_to": "buyer@example.com"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);

    let mail = sink.wait_for(1).await.remove(0);
    // What went over the wire is 7-bit: any relay passes it unchanged.
    assert!(mail.data.is_ascii(), "{}", mail.data);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mail.eml");
    std::fs::write(&file, mail.data.replace('\n', "\r\n")).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-c", PARSE])
        .arg(&file)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(parsed["subject"], format!("[pointcast inquiry] {subject}"));
    assert_eq!(parsed["from_name"], "강남 레코드 고객센터");
    assert_eq!(parsed["from_addr"], "help@pointcast.test");
    assert_eq!(parsed["content_type"], "text/plain");
    assert_eq!(parsed["charset"], "utf-8");
    assert_eq!(parsed["mime_version"], "1.0");
    let body = parsed["body"].as_str().unwrap().replace("\r\n", "\n");
    assert!(body.contains(message), "{body}");
}
