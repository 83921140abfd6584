//! `pointcast shop`: the record shop's terminal client, over the same HTTP API as
//! the web pages. It reads its input line by line (a person at a terminal, or a
//! script piping stdin), so every prompt accepts exactly one line, and end of input
//! quits cleanly.

pub mod api;
pub mod text;

use std::io::Write;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, Lines};

use api::{Api, CallError};
pub use text::Lang;

/// What `pointcast shop` was started with.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub url: String,
    pub login: Option<String>,
    pub password: Option<String>,
    pub lang: Lang,
    /// PEM of private CAs to trust for an `https://` URL (`--ca-file`).
    pub ca_file: Option<std::path::PathBuf>,
}

/// How many passwords a person may try before the client gives up.
pub const PASSWORD_ATTEMPTS: usize = 3;

/// The client ended because of what the user did (no login), not a fault: `main`
/// prints it as one line and exits with status 2, never with a backtrace.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

/// Runs the client on the process's stdin and stdout. At a terminal the password
/// is read without echo; from a pipe it is one line like any other answer.
pub async fn run(opts: ClientOptions) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let hide = std::io::stdin().is_terminal();
    let input = tokio::io::BufReader::new(tokio::io::stdin());
    let mut out = std::io::stdout();
    run_on(opts, input, &mut out, hide).await
}

/// Runs the client on any line source and sink (tests drive it this way too);
/// the password is read from `input` like any other line.
pub async fn run_with<R, W>(opts: ClientOptions, input: R, out: &mut W) -> anyhow::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: Write,
{
    run_on(opts, input, out, false).await
}

async fn run_on<R, W>(opts: ClientOptions, input: R, out: &mut W, hide: bool) -> anyhow::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: Write,
{
    crate::tls::install_provider();
    let api = Api::new(&opts.url, opts.ca_file.as_deref())?;
    let mut shop = Shop {
        api,
        lang: opts.lang,
        url: opts.url.clone(),
        lines: input.lines(),
        out,
        hide_password: hide,
    };
    if !shop.log_in(opts.login, opts.password).await? {
        let msg = opts.lang.t("Not logged in.", "로그인하지 않았습니다.");
        return Err(UserError(msg.to_string()).into());
    }
    shop.menu().await
}

struct Shop<'w, R, W> {
    api: Api,
    lang: Lang,
    url: String,
    lines: Lines<R>,
    out: &'w mut W,
    /// Read the password from the terminal without echo (stdin is a terminal).
    hide_password: bool,
}

/// A menu choice, or the end of input.
enum Choice {
    Line(String),
    Eof,
}

impl<R, W> Shop<'_, R, W>
where
    R: AsyncBufRead + Unpin,
    W: Write,
{
    fn say(&mut self, s: &str) -> anyhow::Result<()> {
        writeln!(self.out, "{s}")?;
        self.out.flush()?;
        Ok(())
    }

    fn say2(&mut self, en: &str, ko: &str) -> anyhow::Result<()> {
        let s = self.lang.t(en, ko).to_string();
        self.say(&s)
    }

    /// Shows `prompt` and reads one line, trimmed.
    async fn ask(&mut self, en: &str, ko: &str) -> anyhow::Result<Choice> {
        write!(self.out, "{} ", self.lang.t(en, ko))?;
        self.out.flush()?;
        Ok(match self.lines.next_line().await? {
            Some(l) => Choice::Line(l.trim().to_string()),
            None => Choice::Eof,
        })
    }

    /// Asks for a whole number; `None` on end of input or after saying why the
    /// answer was not one.
    async fn ask_number(&mut self, en: &str, ko: &str) -> anyhow::Result<Option<i64>> {
        match self.ask(en, ko).await? {
            Choice::Eof => Ok(None),
            Choice::Line(l) => match l.parse::<i64>() {
                Ok(n) => Ok(Some(n)),
                Err(_) => {
                    let msg = match self.lang {
                        Lang::En => format!("\"{l}\" is not a number."),
                        Lang::Ko => format!("\"{l}\"은(는) 숫자가 아닙니다."),
                    };
                    self.say(&msg)?;
                    Ok(None)
                }
            },
        }
    }

    fn fail(&mut self, e: &CallError) -> anyhow::Result<()> {
        let msg = self.lang.error(e, &self.url);
        self.say(&format!("! {msg}"))
    }

    /// Reads a password: without echo at a terminal, else one line of input.
    async fn ask_password(&mut self) -> anyhow::Result<Choice> {
        if !self.hide_password {
            return self.ask("Password:", "비밀번호:").await;
        }
        write!(self.out, "{} ", self.lang.t("Password:", "비밀번호:"))?;
        self.out.flush()?;
        // rpassword reads the terminal itself (not our stdin buffer) with echo off.
        let read = tokio::task::spawn_blocking(rpassword::read_password).await?;
        Ok(match read {
            Ok(p) => Choice::Line(p.trim().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Choice::Eof,
            Err(e) => return Err(e.into()),
        })
    }

    /// Logs in with the flags, asking for what is missing; a wrong password may be
    /// typed again, up to [`PASSWORD_ATTEMPTS`] in all. False if it failed.
    async fn log_in(
        &mut self,
        login: Option<String>,
        password: Option<String>,
    ) -> anyhow::Result<bool> {
        let login = match login {
            Some(l) => l,
            None => match self
                .ask("Member number or login:", "회원번호 또는 아이디:")
                .await?
            {
                Choice::Line(l) => l,
                Choice::Eof => return Ok(false),
            },
        };
        let mut given = password;
        for attempt in 1..=PASSWORD_ATTEMPTS {
            let password = match given.take() {
                Some(p) => p,
                None => match self.ask_password().await? {
                    Choice::Line(p) => p,
                    Choice::Eof => return Ok(false),
                },
            };
            match self.api.login(&login, &password).await {
                Ok(name) => {
                    let msg = match self.lang {
                        Lang::En => format!("Welcome, {name}."),
                        Lang::Ko => format!("{name}님, 환영합니다."),
                    };
                    self.say(&msg)?;
                    return Ok(true);
                }
                Err(e) => {
                    self.fail(&e)?;
                    let wrong =
                        matches!(&e, CallError::Refused { code, .. } if code == "unauthorized");
                    if !wrong {
                        return Ok(false);
                    }
                    if attempt < PASSWORD_ATTEMPTS {
                        self.say2("Try again.", "다시 입력하세요.")?;
                    }
                }
            }
        }
        Ok(false)
    }

    /// The loop: one choice per line until `0` or end of input.
    async fn menu(&mut self) -> anyhow::Result<()> {
        loop {
            self.say("")?;
            self.say2(
                "== Record shop ==  1) Albums  2) Stock of an album  3) Buy  4) Customer center  0) Quit",
                "== 레코드 가게 ==  1) 앨범 목록  2) 앨범 재고  3) 구매  4) 고객센터  0) 종료",
            )?;
            let choice = match self.ask("Choose:", "선택:").await? {
                Choice::Eof => break,
                Choice::Line(l) => l,
            };
            match choice.as_str() {
                "1" => self.list_albums().await?,
                "2" => self.show_stock().await?,
                "3" => self.buy().await?,
                "4" => self.customer_center().await?,
                "0" | "q" | "quit" | "exit" => break,
                "" => {}
                other => {
                    let msg = match self.lang {
                        Lang::En => {
                            format!("\"{other}\" is not on the menu: type 1, 2, 3, 4 or 0.")
                        }
                        Lang::Ko => format!(
                            "\"{other}\"은(는) 메뉴에 없습니다. 1, 2, 3, 4, 0 중에서 고르세요."
                        ),
                    };
                    self.say(&msg)?;
                }
            }
        }
        self.say2("Bye.", "안녕히 가세요.")
    }

    async fn list_albums(&mut self) -> anyhow::Result<()> {
        match self.api.products().await {
            Ok(ps) if ps.is_empty() => self.say2("No albums yet.", "아직 앨범이 없습니다."),
            Ok(ps) => {
                for p in ps {
                    let line = format!(
                        "  [{}] {} - {}  {}",
                        p.id,
                        p.title,
                        p.artist,
                        self.lang.won(p.price)
                    );
                    self.say(&line)?;
                }
                Ok(())
            }
            Err(e) => self.fail(&e),
        }
    }

    async fn show_stock(&mut self) -> anyhow::Result<()> {
        let Some(id) = self.ask_number("Album number:", "앨범 번호:").await? else {
            return Ok(());
        };
        self.print_stock(id).await.map(|_| ())
    }

    /// Prints an album's stock at every store; the stores, or `None` if that failed.
    async fn print_stock(&mut self, id: i64) -> anyhow::Result<Option<Vec<api::StockItem>>> {
        let product = match self.api.product(id).await {
            Ok(p) => p,
            Err(e) => {
                self.fail(&e)?;
                return Ok(None);
            }
        };
        let stock = match self.api.product_stock(id).await {
            Ok(s) => s,
            Err(e) => {
                self.fail(&e)?;
                return Ok(None);
            }
        };
        let head = format!(
            "{} - {}  {}",
            product.title,
            product.artist,
            self.lang.won(product.price)
        );
        self.say(&head)?;
        if stock.is_empty() {
            self.say2("  No stores yet.", "  아직 매장이 없습니다.")?;
        }
        for s in &stock {
            let line = match self.lang {
                Lang::En => format!(
                    "  [{}] {}: {} in stock",
                    s.store_id, s.store_name, s.quantity
                ),
                Lang::Ko => format!("  [{}] {}: 재고 {}장", s.store_id, s.store_name, s.quantity),
            };
            self.say(&line)?;
        }
        Ok(Some(stock))
    }

    async fn buy(&mut self) -> anyhow::Result<()> {
        let Some(product_id) = self.ask_number("Album number:", "앨범 번호:").await? else {
            return Ok(());
        };
        let Some(stores) = self.print_stock(product_id).await? else {
            return Ok(());
        };
        if stores.is_empty() {
            return Ok(());
        }
        let Some(store_id) = self.ask_number("Store number:", "매장 번호:").await? else {
            return Ok(());
        };
        if !stores.iter().any(|s| s.store_id == store_id) {
            return self.say2(
                "There is no store with that number.",
                "그 번호의 매장이 없습니다.",
            );
        }
        let Some(quantity) = self.ask_number("How many:", "수량:").await? else {
            return Ok(());
        };
        if quantity < 1 {
            return self.say2(
                "The quantity must be at least 1.",
                "수량은 1 이상이어야 합니다.",
            );
        }
        // One key per purchase: the retry after a lost answer buys once.
        let key = format!(
            "shop-{:016x}{:016x}",
            rand::random::<u64>(),
            rand::random::<u64>()
        );
        let mut result = self.api.order(&key, store_id, product_id, quantity).await;
        if let Err(CallError::Unreachable(_)) = result {
            result = self.api.order(&key, store_id, product_id, quantity).await;
        }
        match result {
            Ok(placed) => {
                let o = placed.order;
                let msg = match self.lang {
                    Lang::En => format!(
                        "Bought {} x {} at {} for {} (order {}). {} left there.",
                        o.quantity,
                        o.title,
                        o.store_name,
                        self.lang.won(o.total),
                        o.id,
                        placed.stock_left
                    ),
                    Lang::Ko => format!(
                        "{} {}장을 {}에서 {}에 구매했습니다 (주문 {}). 남은 재고 {}장.",
                        o.title,
                        o.quantity,
                        o.store_name,
                        self.lang.won(o.total),
                        o.id,
                        placed.stock_left
                    ),
                };
                self.say(&msg)
            }
            Err(e) => self.fail(&e),
        }
    }

    /// Which store a chat goes to: the customer's only store, or the one they pick
    /// among theirs (0 or Enter: the customer center's admins). `None` when they
    /// gave up (end of input or a number not on the list); `Some(None)` for the
    /// admins.
    async fn pick_store(&mut self) -> anyhow::Result<Option<Option<i64>>> {
        let stores = match self.api.my_stores().await {
            Ok(s) => s,
            Err(e) => {
                self.fail(&e)?;
                return Ok(None);
            }
        };
        match stores.as_slice() {
            [] => return Ok(Some(None)),
            [only] => {
                let msg = match self.lang {
                    Lang::En => format!("Your chat goes to {}.", only.name),
                    Lang::Ko => format!("{} 매장으로 문의합니다.", only.name),
                };
                self.say(&msg)?;
                return Ok(Some(Some(only.store_id)));
            }
            _ => {}
        }
        self.say2("Your stores:", "내 매장:")?;
        for s in &stores {
            let line = format!("  [{}] {}", s.store_id, s.name);
            self.say(&line)?;
        }
        self.say2("  [0] Customer center", "  [0] 고객센터")?;
        let pick = match self
            .ask("Store number for your chat:", "문의할 매장 번호:")
            .await?
        {
            Choice::Eof => return Ok(None),
            Choice::Line(l) if l.is_empty() || l == "0" => return Ok(Some(None)),
            Choice::Line(l) => l,
        };
        match pick.parse::<i64>() {
            Ok(n) if stores.iter().any(|s| s.store_id == n) => Ok(Some(Some(n))),
            _ => {
                self.say2(
                    "There is no store with that number.",
                    "그 번호의 매장이 없습니다.",
                )?;
                Ok(None)
            }
        }
    }

    /// Menu 4: a live 1:1 chat with the customer center. The first line opens a
    /// conversation; replies arrive as they are written (a long-poll on
    /// `support.` events runs beside the input); each line typed is sent; `EXIT`
    /// closes the conversation and goes back to the menu.
    async fn customer_center(&mut self) -> anyhow::Result<()> {
        let Some(store_id) = self.pick_store().await? else {
            return Ok(());
        };
        let first = match self
            .ask(
                "Your question for the customer center (EXIT to go back):",
                "고객센터에 문의할 내용을 입력하세요 (EXIT: 돌아가기):",
            )
            .await?
        {
            Choice::Line(l) if !l.is_empty() && !l.eq_ignore_ascii_case("exit") => l,
            _ => return Ok(()),
        };
        // Start at the current cursor: only this chat's replies are shown.
        let cursor = match self.api.poll(None, 0, "support.").await {
            Ok((_, c)) => c,
            Err(e) => return self.fail(&e),
        };
        let id = match self.api.open_conversation(&first, store_id).await {
            Ok(id) => id,
            Err(e) => return self.fail(&e),
        };
        let msg = match self.lang {
            Lang::En => format!(
                "Connected to the customer center (conversation #{id}). Type a message; EXIT leaves."
            ),
            Lang::Ko => {
                format!("고객센터에 연결되었습니다 (상담 #{id}). 메시지를 입력하세요. EXIT: 나가기")
            }
        };
        self.say(&msg)?;
        let (tx, mut replies) = tokio::sync::mpsc::channel::<serde_json::Value>(64);
        let api = self.api.clone();
        let poller = tokio::spawn(async move {
            let mut cursor = cursor;
            loop {
                match api.poll(Some(cursor), 25, "support.").await {
                    Ok((events, next)) => {
                        cursor = next;
                        for e in events {
                            if tx.send(e).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(_) => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
                }
            }
        });
        loop {
            tokio::select! {
                line = self.lines.next_line() => match line?.map(|l| l.trim().to_string()) {
                    None => break,
                    Some(l) if l.eq_ignore_ascii_case("exit") => {
                        if let Err(e) = self.api.close_conversation(id).await {
                            self.fail(&e)?;
                        }
                        break;
                    }
                    Some(l) if l.is_empty() => {}
                    Some(l) => {
                        if let Err(e) = self.api.send_message(id, &l).await {
                            self.fail(&e)?;
                        }
                    }
                },
                Some(e) = replies.recv() => {
                    let data = &e["data"];
                    match e["type"].as_str() {
                        Some("support.message")
                            if data["conversation_id"] == id && data["message"]["sender"]["role"] != "customer" =>
                        {
                            let line = format!(
                                "[{}] {}",
                                data["message"]["sender"]["name"].as_str().unwrap_or("staff"),
                                data["message"]["text"].as_str().unwrap_or("")
                            );
                            self.say(&line)?;
                        }
                        Some("support.closed") if data["conversation"]["id"] == id => {
                            self.say2("The customer center closed this conversation.", "고객센터가 상담을 종료했습니다.")?;
                            break;
                        }
                        _ => {}
                    }
                }
            }
        }
        poller.abort();
        self.say2("You left the customer center.", "고객센터에서 나왔습니다.")
    }
}
