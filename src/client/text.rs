//! What the terminal client says, in Korean or English.

use super::api::CallError;

/// The client's language: `--lang`, else `LANG` (`ko_KR.UTF-8` is Korean), else English.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Ko,
    En,
}

impl Lang {
    /// The flag if given, else from a `LANG`-style value.
    pub fn pick(flag: Option<Lang>, env_lang: Option<&str>) -> Self {
        flag.unwrap_or(match env_lang {
            Some(l) if l.to_ascii_lowercase().starts_with("ko") => Lang::Ko,
            _ => Lang::En,
        })
    }

    /// The English or the Korean text.
    pub fn t<'a>(self, en: &'a str, ko: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::Ko => ko,
        }
    }

    /// A price: `38,000 won` / `38,000원`.
    pub fn won(self, n: i64) -> String {
        let digits = n.unsigned_abs().to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        let sign = if n < 0 { "-" } else { "" };
        match self {
            Lang::En => format!("{sign}{grouped} won"),
            Lang::Ko => format!("{sign}{grouped}원"),
        }
    }

    /// A clear sentence for every way a call can fail.
    pub fn error(self, e: &CallError, url: &str) -> String {
        match e {
            CallError::Unreachable(_) => match self {
                Lang::En => format!("Cannot reach the server at {url}. Is it running?"),
                Lang::Ko => {
                    format!("서버({url})에 연결할 수 없습니다. 서버가 켜져 있는지 확인하세요.")
                }
            },
            CallError::BadCertificate(why) => match self {
                Lang::En => format!(
                    "The server at {url} answered with a TLS certificate this client does not \
                     trust ({why}). Check the address, or pass its CA with --ca-file."
                ),
                Lang::Ko => format!(
                    "서버({url})의 TLS 인증서를 신뢰할 수 없습니다 ({why}). 주소를 확인하거나 \
                     --ca-file 로 인증 기관(CA) 파일을 지정하세요."
                ),
            },
            CallError::BadAnswer(why) => match self {
                Lang::En => {
                    format!("The server gave an answer this client does not understand ({why}).")
                }
                Lang::Ko => format!("서버의 응답을 이해할 수 없습니다 ({why})."),
            },
            CallError::Refused {
                code,
                message,
                available,
                ..
            } => match (code.as_str(), message.as_str()) {
                ("insufficient_stock", _) => {
                    let n = available.unwrap_or(0);
                    match self {
                        Lang::En => format!(
                            "Not enough stock: only {n} left at this store. Nothing was bought."
                        ),
                        Lang::Ko => format!(
                            "재고가 부족합니다: 이 매장에는 {n}장 남았습니다. 구매되지 않았습니다."
                        ),
                    }
                }
                ("unauthorized", _) => self
                    .t(
                        "Login failed: wrong login or password, or the session expired.",
                        "로그인 실패: 아이디 또는 비밀번호가 틀렸거나 세션이 만료되었습니다.",
                    )
                    .into(),
                ("not_found", m) if m.starts_with("product") => self
                    .t(
                        "There is no album with that number.",
                        "그 번호의 앨범이 없습니다.",
                    )
                    .into(),
                ("not_found", m) if m.starts_with("store") => self
                    .t(
                        "There is no store with that number.",
                        "그 번호의 매장이 없습니다.",
                    )
                    .into(),
                ("invalid_quantity", m) => match self {
                    Lang::En => format!("That quantity is not accepted: {m}."),
                    Lang::Ko => format!("수량은 1부터 1000까지만 가능합니다 ({m})."),
                },
                ("forbidden", m) => match self {
                    Lang::En => format!("Not allowed: {m}."),
                    Lang::Ko => format!("권한이 없습니다: {m}."),
                },
                ("not_a_member", _) => self
                    .t(
                        "You are not a member of that store: join it first, or write to the customer center (0).",
                        "그 매장의 회원이 아닙니다. 먼저 가입하거나 고객센터(0)에 문의하세요.",
                    )
                    .into(),
                ("conversation_closed", _) => self
                    .t(
                        "This conversation is closed.",
                        "종료된 상담입니다.",
                    )
                    .into(),
                ("invalid_text", _) => self
                    .t(
                        "A message must be 1 to 2,000 characters.",
                        "메시지는 1자에서 2,000자까지 쓸 수 있습니다.",
                    )
                    .into(),
                ("too_many_requests", _) => self
                    .t(
                        "The server is busy; try again in a moment.",
                        "서버가 바쁩니다. 잠시 후 다시 시도하세요.",
                    )
                    .into(),
                (code, m) => match (sentence(code, self), self) {
                    (Some(said), _) => said.to_string(),
                    (None, Lang::En) => format!("The server refused: {m} ({code})."),
                    (None, Lang::Ko) => format!("서버가 요청을 거절했습니다: {m} ({code})."),
                },
            },
        }
    }
}

/// The pages' sentence for an error code in this language (`web/js/errors.json`,
/// compiled in), so the terminal client and the pages word a refusal alike; `None`
/// for a code the file lacks (a newer server), when the server's message is shown.
fn sentence(code: &str, lang: Lang) -> Option<&'static str> {
    static SENTENCES: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    let all = SENTENCES.get_or_init(|| {
        serde_json::from_str(include_str!("../../web/js/errors.json")).unwrap_or_default()
    });
    let key = match lang {
        Lang::En => "en",
        Lang::Ko => "ko",
    };
    all.get(code)?.get(key)?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_comes_from_the_flag_then_lang() {
        assert_eq!(Lang::pick(Some(Lang::En), Some("ko_KR.UTF-8")), Lang::En);
        assert_eq!(Lang::pick(None, Some("ko_KR.UTF-8")), Lang::Ko);
        assert_eq!(Lang::pick(None, Some("C.UTF-8")), Lang::En);
        assert_eq!(Lang::pick(None, None), Lang::En);
    }

    #[test]
    fn prices_group_thousands() {
        assert_eq!(Lang::En.won(38_000), "38,000 won");
        assert_eq!(Lang::Ko.won(1_234_567), "1,234,567원");
        assert_eq!(Lang::En.won(999), "999 won");
        assert_eq!(Lang::En.won(0), "0 won");
    }

    #[test]
    fn an_out_of_stock_refusal_says_what_is_left() {
        let e = CallError::Refused {
            status: reqwest::StatusCode::CONFLICT,
            code: "insufficient_stock".into(),
            message: "only 2 left in stock".into(),
            available: Some(2),
        };
        assert!(Lang::En.error(&e, "u").contains("only 2 left"));
        assert!(Lang::Ko.error(&e, "u").contains("2장"));
    }

    #[test]
    fn every_other_refusal_is_worded_like_the_pages() {
        let e = CallError::Refused {
            status: reqwest::StatusCode::UNPROCESSABLE_ENTITY,
            code: "coupon_expired".into(),
            message: "the coupon has expired".into(),
            available: None,
        };
        assert_eq!(
            Lang::Ko.error(&e, "u"),
            sentence("coupon_expired", Lang::Ko).unwrap_or("?")
        );
        assert!(
            !Lang::Ko.error(&e, "u").contains("coupon"),
            "no English in Korean"
        );
        let unknown = CallError::Refused {
            status: reqwest::StatusCode::CONFLICT,
            code: format!("{}_{}", "from_a", "newer_server"),
            message: "something new".into(),
            available: None,
        };
        assert!(Lang::En.error(&unknown, "u").contains("something new"));
    }
}
