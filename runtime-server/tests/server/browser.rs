//! Integration tests of the browser with real Chromium against pages served on loopback by the test.
//!
//! Each test starts one server and so at most one or two Chromiums; several checks share a test to keep
//! launches few. Without Chromium the tests fail with a message, unless `OPENHANDS_SKIP_BROWSER=1`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use base64::Engine as _;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::common::*;

const FORM_PAGE: &str = r#"<!doctype html><html><head><title>Sign up</title></head><body>
<h1>Sign up</h1>
<p>Welcome to the <b>test</b> site. Read <a href="/second">the second page</a>.</p>
<form action="/submit" method="post">
<label>Name <input name="name"></label>
<label>Colour <select name="colour"><option value="r">Red</option><option value="g">Green</option></select></label>
<button type="submit">Send</button>
</form>
<ul><li>first</li><li>second</li></ul>
</body></html>"#;

const SECOND_PAGE: &str = r#"<!doctype html><title>Second</title><h2>The second page</h2><p>Reached by a link.</p>
<p><a href="/" target="_blank">Home in a new tab</a></p>
<ol><li>Step <em>one</em><ul><li>detail</li></ul></li><li>Step <code>two()</code></li></ol>
<table><tr><th>Name</th><th>Size</th></tr><tr><td>a|b</td><td>3</td></tr></table>
<pre>fn main() {
    println!("hi");
}</pre>
<blockquote>Quoted <img src="x.png" alt="an image"></blockquote>
<p style="display:none">hidden text</p><script>var notShown = 1;</script>"#;

const WIDGETS_PAGE: &str = r#"<!doctype html><html><head><title>Widgets</title></head><body>
<p id="log">log:</p>
<button ondblclick="log('dblclick')">Double</button>
<div onmouseenter="log('hover')" style="width:120px;height:30px">Hover here</div>
<input aria-label="Keys" onkeydown="if (event.key.length === 1 || event.key === 'Enter') log('key ' + event.key)">
<input aria-label="Filled" value="old text">
<input type="file" aria-label="Upload" onchange="log('file ' + this.files[0].name)">
<div id="src" style="width:60px;height:40px;background:#c00" onmousedown="dragging = true">Drag</div>
<div style="width:60px;height:40px;margin-top:30px;background:#00c" onmouseup="if (window.dragging) log('dropped')">Drop</div>
<div draggable="true" ondragstart="event.dataTransfer.setData('text/plain', 'card')">Card</div>
<div style="width:80px;height:40px;margin-top:30px" ondragover="event.preventDefault()"
     ondrop="event.preventDefault(); log('html5 ' + event.dataTransfer.getData('text/plain'))">Column</div>
<div style="height:3000px"></div>
<p>Bottom</p>
<script>
function log(s) { document.getElementById('log').textContent += ' ' + s; }
window.addEventListener('scroll', () => { document.title = 'scrolled ' + Math.round(scrollY); });
</script>
</body></html>"#;

/// A tiny HTTP/1.1 server for the test pages: `/`, `/second`, `/widgets`, `POST /submit` (echoes the
/// form), and `/hang`, which never answers.
struct Site {
    port: u16,
}

impl Site {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                std::thread::spawn(move || serve(stream));
            }
        });
        Self { port }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

fn serve(stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or("/");
        let (status, page) = match path {
            "/" => ("200 OK", FORM_PAGE.to_owned()),
            "/second" => ("200 OK", SECOND_PAGE.to_owned()),
            "/widgets" => ("200 OK", WIDGETS_PAGE.to_owned()),
            "/to-slow" => (
                "200 OK",
                "<!doctype html><title>Links</title><a href=\"/slow\">A slow page</a>".to_owned(),
            ),
            // The document arrives at once, but an image on it never does.
            "/slow" => (
                "200 OK",
                "<!doctype html><title>Slow</title><h1>Slow</h1><img src=\"/hang\" alt=\"never\">"
                    .to_owned(),
            ),
            "/submit" => (
                "200 OK",
                format!(
                    "<!doctype html><title>Thanks</title><p>Received: {}</p>",
                    String::from_utf8_lossy(&body)
                ),
            ),
            "/hang" => {
                std::thread::sleep(Duration::from_secs(120));
                return;
            }
            _ => ("404 Not Found", "<title>Missing</title>not here".to_owned()),
        };
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\n\r\n",
            page.len()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(page.as_bytes()).is_err()
        {
            return;
        }
    }
}

/// False (after saying so) when Chromium is missing and `OPENHANDS_SKIP_BROWSER=1`; panics if it is
/// missing otherwise.
fn chromium_available() -> bool {
    let found = std::env::var_os("OPENHANDS_CHROMIUM").is_some()
        || std::path::Path::new("/usr/lib/chromium/chromium").exists()
        || ["chromium", "chromium-browser", "google-chrome"]
            .iter()
            .any(|name| {
                std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                    .any(|dir| dir.join(name).is_file())
            });
    if found {
        return true;
    }
    if std::env::var_os("OPENHANDS_SKIP_BROWSER").is_some_and(|v| v == "1") {
        eprintln!("skipped: Chromium is not installed and OPENHANDS_SKIP_BROWSER=1");
        return false;
    }
    panic!(
        "the browser tests need Chromium: install it (apt-get install chromium) or set OPENHANDS_CHROMIUM, or set OPENHANDS_SKIP_BROWSER=1 to skip them"
    );
}

fn browse(srv: &Server, url: &str) -> Value {
    srv.exec(
        json!({"action": "browse", "args": {"url": url, "thought": "", "security_risk": -1,
        "return_axtree": false}, "timeout": 60.0}),
    )
}

fn interact(srv: &Server, actions: &str) -> Value {
    interact_with(srv, actions, 60.0, false)
}

fn interact_with(srv: &Server, actions: &str, timeout: f64, return_axtree: bool) -> Value {
    srv.exec(
        json!({"action": "browse_interactive", "args": {"browser_actions": actions, "thought": "",
        "browsergym_send_msg_to_user": "", "security_risk": -1, "return_axtree": return_axtree},
        "timeout": timeout}),
    )
}

fn content(obs: &Value) -> &str {
    obs["content"].as_str().unwrap()
}

fn action_error(obs: &Value) -> &str {
    obs["extras"]["last_browser_action_error"].as_str().unwrap()
}

/// The bid on the accessibility-tree line that contains `needle`, e.g. `textbox 'Name'`.
fn bid(obs: &Value, needle: &str) -> String {
    let line = content(obs)
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{}", content(obs)));
    let start = line.find('[').expect("a bid") + 1;
    let end = line.find(']').expect("a bid");
    line[start..end].to_owned()
}

/// The bid of the element whose text is on the line below, e.g. a `generic` div holding `StaticText 'x'`.
fn bid_above(obs: &Value, needle: &str) -> String {
    let lines: Vec<&str> = content(obs).lines().collect();
    let i = lines
        .iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{}", content(obs)));
    let line = lines[i - 1];
    line[line.find('[').unwrap() + 1..line.find(']').unwrap()].to_owned()
}

/// The text between the accessibility tree's markers.
fn tree(obs: &Value) -> &str {
    let text = content(obs);
    let start = text.find("== BEGIN accessibility tree ==").unwrap();
    let start = start + text[start..].find('\n').unwrap() + 1;
    let end = text
        .find("\n============== END accessibility tree")
        .unwrap();
    &text[start..end]
}

#[test]
fn pages_are_read_filled_submitted_and_followed() {
    if !chromium_available() {
        return;
    }
    let site = Site::start();
    let srv = Server::builder().with_browser().start();
    let info: Value = srv.get("/server_info").json().unwrap();
    assert_eq!(info["browser"]["status"], "not started", "{info}");

    // Text read: the page as Markdown, with the title first as html2text prints it.
    let obs = browse(&srv, &site.url("/"));
    assert_eq!(obs["observation"], "browse");
    assert_eq!(obs["message"], format!("Visited {}", site.url("/")));
    let expected = format!(
        "[Current URL: {u}/]\n============== BEGIN webpage content ==============\nSign up\n\n# Sign up\n\n\
         Welcome to the **test** site. Read [the second page]({u}/second).\n\nName Colour Send\n\n* first\n* second\n\
         ============== END webpage content ==============\n",
        u = site.url("")
    );
    assert_eq!(content(&obs), expected);
    let extras = &obs["extras"];
    let keys: Vec<&str> = extras
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "url",
            "trigger_by_action",
            "screenshot",
            "screenshot_path",
            "set_of_marks",
            "error",
            "goal_image_urls",
            "open_pages_urls",
            "active_page_index",
            "dom_object",
            "axtree_object",
            "extra_element_properties",
            "last_browser_action",
            "last_browser_action_error",
            "focused_element_bid",
            "filter_visible_only"
        ]
    );
    assert_eq!(extras["trigger_by_action"], "browse");
    assert_eq!(extras["error"], false);
    assert_eq!(extras["open_pages_urls"], json!([site.url("/")]));
    assert_eq!(extras["active_page_index"], 0);
    assert_eq!(
        extras["last_browser_action"],
        format!("goto(\"{}\")", site.url("/"))
    );
    assert_eq!(
        extras["axtree_object"],
        json!({}),
        "return_axtree was false"
    );

    // The screenshot: a PNG data URL of the viewport's size, also saved in the workspace.
    let data_url = extras["screenshot"].as_str().unwrap();
    let png = base64::engine::general_purpose::STANDARD
        .decode(
            data_url
                .strip_prefix("data:image/png;base64,")
                .expect("a PNG data URL"),
        )
        .unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(&png));
    let reader = decoder.read_info().expect("a valid PNG");
    assert_eq!((reader.info().width, reader.info().height), (1280, 720));
    let saved = extras["screenshot_path"].as_str().unwrap();
    assert!(
        saved.starts_with(&format!(
            "{}/.browser_screenshots/screenshot_",
            srv.workdir.display()
        )),
        "{saved}"
    );
    assert_eq!(std::fs::read(saved).unwrap(), png);

    // The accessibility tree with bids, as browse_interactive shows it.
    let obs = interact_with(&srv, "noop(0)", 60.0, true);
    let text = content(&obs);
    assert!(
        text.starts_with(&format!(
            "[Current URL: {}]\n[Focused element bid: ",
            site.url("/")
        )),
        "{text}"
    );
    assert!(
        text.contains(
            "\n[Action executed successfully.]\nAccessibility tree of the COMPLETE webpage:\n"
        ),
        "{text}"
    );
    let tree_text = tree(&obs).replace(|c: char| c.is_ascii_digit(), "#");
    let expected_tree = "RootWebArea 'Sign up', url='http://###.#.#.#:#####/'\n\
        \t[##] heading 'Sign up'\n\
        \t[##] paragraph ''\n\
        \t\tStaticText 'Welcome to the'\n\
        \t\tStaticText 'test'\n\
        \t\tStaticText 'site. Read'\n\
        \t\t[##] link 'the second page', clickable, url='http://###.#.#.#:#####/second'\n\
        \t\tStaticText '.'\n\
        \t[##] form ''\n\
        \t\t[##] LabelText '', clickable\n\
        \t\t\tStaticText 'Name'\n\
        \t\t\t[##] textbox 'Name', clickable\n\
        \t\t\t\tgeneric\n\
        \t\t[##] LabelText ''\n\
        \t\t\tStaticText 'Colour'\n\
        \t\t\t[##] combobox 'Colour' value='Red', hasPopup='menu', expanded=False\n\
        \t\t\t\tMenuListPopup ''\n\
        \t\t\t\t\t[##] option 'Red', selected=True\n\
        \t\t\t\t\t[##] option 'Green', selected=False\n\
        \t\t[##] button 'Send', clickable\n\
        \t[##] list ''\n\
        \t\t[##] listitem ''\n\
        \t\t\tListMarker '•'\n\
        \t\t\tStaticText 'first'\n\
        \t\t[##] listitem ''\n\
        \t\t\tListMarker '•'\n\
        \t\t\tStaticText 'second'";
    assert_eq!(tree_text.replace("[#]", "[##]"), expected_tree);
    // return_axtree: the raw tree, DOM snapshot and per-bid properties come along.
    let extras = &obs["extras"];
    assert!(
        extras["axtree_object"]["nodes"].as_array().unwrap().len() > 10,
        "{extras}"
    );
    assert!(extras["dom_object"]["documents"].is_array());
    let send = bid(&obs, "button 'Send'");
    let props = &extras["extra_element_properties"][&send];
    assert_eq!(props["clickable"], true, "{props}");
    assert_eq!(props["visibility"], 1.0, "{props}");

    // A form filled and submitted, several actions in one call.
    let name = bid(&obs, "textbox 'Name'");
    let colour = bid(&obs, "combobox 'Colour'");
    let obs = interact(
        &srv,
        &format!(
            "fill('{name}', 'Ada Lovelace')\nselect_option('{colour}', 'Green')\nclick('{send}')"
        ),
    );
    assert_eq!(action_error(&obs), "");
    assert_eq!(obs["extras"]["url"], site.url("/submit"));
    assert!(
        tree(&obs).contains("StaticText 'Received: name=Ada+Lovelace&colour=g'"),
        "{}",
        content(&obs)
    );

    // Back, and a link followed.
    let obs = interact(&srv, "go_back()");
    assert_eq!(obs["extras"]["url"], site.url("/"));
    let link = bid(&obs, "link 'the second page'");
    let obs = interact(&srv, &format!("click(\"{link}\")"));
    assert_eq!(obs["extras"]["url"], site.url("/second"));
    assert!(
        tree(&obs).contains("heading 'The second page'"),
        "{}",
        content(&obs)
    );
    let obs = interact(&srv, "go_back()\ngo_forward()");
    assert_eq!(obs["extras"]["url"], site.url("/second"));
    // A link to a new tab opens in the one page.
    let new_tab = bid(&obs, "link 'Home in a new tab'");
    let obs = interact(&srv, &format!("click('{new_tab}')"));
    assert_eq!(obs["extras"]["url"], site.url("/"));
    assert_eq!(obs["extras"]["open_pages_urls"], json!([site.url("/")]));

    let info: Value = srv.get("/server_info").json().unwrap();
    assert_eq!(info["browser"]["status"], "running", "{info}");
    assert_eq!(info["browser"]["launches"], 1, "{info}");
}

#[test]
fn widgets_take_mouse_keyboard_files_and_scrolling() {
    if !chromium_available() {
        return;
    }
    let site = Site::start();
    let srv = Server::builder().with_browser().start();
    std::fs::write(srv.workdir.join("notes.txt"), "hello").unwrap();
    let obs = interact(&srv, &format!("goto('{}')", site.url("/widgets")));
    assert_eq!(action_error(&obs), "");
    let double = bid(&obs, "button 'Double'");
    let keys = bid(&obs, "textbox 'Keys'");
    let filled = bid(&obs, "textbox 'Filled'");
    let upload = bid(&obs, "button 'Upload'");
    let hover = bid_above(&obs, "StaticText 'Hover here'");
    let (src, dst) = (
        bid_above(&obs, "StaticText 'Drag'"),
        bid_above(&obs, "StaticText 'Drop'"),
    );
    let obs = interact(
        &srv,
        &format!(
            "dblclick('{double}')\nhover('{hover}')\npress('{keys}', 'x')\npress('{keys}', 'Enter')\n\
             clear('{filled}')\nupload_file('{upload}', 'notes.txt')\nfocus('{keys}')"
        ),
    );
    assert_eq!(action_error(&obs), "");
    assert!(
        tree(&obs).contains("StaticText 'log: dblclick hover key x key Enter file notes.txt'"),
        "{}",
        content(&obs)
    );
    assert!(
        tree(&obs).contains("textbox 'Keys' value='x'"),
        "{}",
        content(&obs)
    );
    assert_eq!(obs["extras"]["focused_element_bid"], keys.as_str());
    assert!(!tree(&obs).contains("old text"), "{}", content(&obs));

    let (card, column) = (
        bid_above(&obs, "StaticText 'Card'"),
        bid_above(&obs, "StaticText 'Column'"),
    );
    let obs = interact(
        &srv,
        &format!(
            "drag_and_drop('{src}', '{dst}')\ndrag_and_drop('{card}', '{column}')\nscroll(0, 500)"
        ),
    );
    assert_eq!(action_error(&obs), "");
    assert!(
        tree(&obs).contains("dropped html5 card'"),
        "{}",
        content(&obs)
    );
    assert!(
        tree(&obs).starts_with("RootWebArea 'scrolled 5"),
        "{}",
        content(&obs)
    );
}

#[test]
fn bad_actions_and_unreachable_pages_are_reported() {
    if !chromium_available() {
        return;
    }
    let site = Site::start();
    let srv = Server::builder().with_browser().start();
    let obs = interact(&srv, &format!("goto('{}')", site.url("/")));
    assert_eq!(action_error(&obs), "");

    let cases = [
        ("explode('1')", "NameError: Invalid action type 'explode'."),
        (
            "click('1'",
            "SyntaxError: '(' was never closed (line 1, column 10)",
        ),
        (
            "click(\"9999\")",
            "ValueError: Could not find element with bid \"9999\"",
        ),
        (
            "fill('9999', 'x')",
            "ValueError: Could not find element with bid \"9999\"",
        ),
    ];
    for (actions, error) in cases {
        let obs = interact(&srv, actions);
        assert_eq!(action_error(&obs), error, "{actions}");
        assert_eq!(obs["extras"]["error"], true);
        assert!(
            content(&obs).contains(&format!(
                "================ BEGIN error message ===============\nThe following error occurred when executing the last action:\n{error}\n================ END error message ===============\n"
            )),
            "{}",
            content(&obs)
        );
        // The page is still there.
        assert_eq!(obs["extras"]["url"], site.url("/"));
        assert!(
            tree(&obs).contains("heading 'Sign up'"),
            "{}",
            content(&obs)
        );
    }

    // A page that never loads: the action's timeout bounds the wait.
    let started = Instant::now();
    let hang = site.url("/hang");
    let obs = interact_with(&srv, &format!("goto('{hang}')"), 2.0, false);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        action_error(&obs),
        format!(
            "TimeoutError: page.goto: Timeout 2000ms exceeded.\nCall log:\n  - navigating to \"{hang}\", waiting until \"load\""
        )
    );

    // A click that leads to a page whose image never loads: the DOM is enough, the action does not hang.
    let obs = interact(&srv, &format!("goto('{}')", site.url("/to-slow")));
    let link = bid(&obs, "link 'A slow page'");
    let started = Instant::now();
    let obs = interact_with(&srv, &format!("click('{link}')"), 20.0, false);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(action_error(&obs), "");
    assert_eq!(obs["extras"]["url"], site.url("/slow"));
    assert!(tree(&obs).contains("heading 'Slow'"), "{}", content(&obs));

    // An unreachable host (a closed port) through `browse`.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{closed}/");
    let obs = browse(&srv, &url);
    assert_eq!(obs["extras"]["error"], true);
    assert_eq!(obs["extras"]["url"], url);
    let error = format!("Error: page.goto: net::ERR_CONNECTION_REFUSED at {url}");
    assert_eq!(action_error(&obs), error);
    assert!(
        content(&obs).starts_with(&format!(
            "[Current URL: {url}]\n================ BEGIN error message ===============\nThe following error occurred when trying to visit the URL:\n{error}\n================ END error message ===============\n============== BEGIN webpage content ==============\n"
        )),
        "{}",
        content(&obs)
    );

    // The browser still works afterwards, and the Markdown covers lists, tables, code and quotes.
    let obs = browse(&srv, &site.url("/second"));
    assert_eq!(obs["extras"]["error"], false);
    let expected = format!(
        "[Current URL: {u}/second]\n============== BEGIN webpage content ==============\nSecond\n\n\
         ## The second page\n\nReached by a link.\n\n[Home in a new tab]({u}/)\n\n\
         1. Step _one_\n   * detail\n2. Step `two()`\n\n\
         | Name | Size |\n| --- | --- |\n| a\\|b | 3 |\n\n\
         ```\nfn main() {{\n    println!(\"hi\");\n}}\n```\n\n\
         > Quoted an image\n============== END webpage content ==============\n",
        u = site.url("")
    );
    assert_eq!(content(&obs), expected);
}

#[test]
fn missing_chromium_is_a_clear_error() {
    let srv = Server::builder()
        .with_browser()
        .arg("--chromium-path")
        .arg("/nonexistent/chromium")
        .start();
    let obs = browse(&srv, "http://127.0.0.1:9/");
    let text = "Browser functionality is not supported or disabled. Chromium was not found (looked for /nonexistent/chromium). Install it (Debian/Ubuntu: `apt-get install chromium`) or point --chromium-path or OPENHANDS_CHROMIUM at a Chromium or Chrome executable";
    assert_eq!(
        obs,
        json!({"message": text, "observation": "error", "content": text, "extras": {"error_id": ""}})
    );
    let info: Value = srv.get("/server_info").json().unwrap();
    assert_eq!(info["browser"]["status"], "failed", "{info}");
}

/// Live (not zombie) processes whose process group is `pgid`.
fn group_members(pgid: i32) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // After the command name: state, ppid, pgrp.
            let fields: Vec<&str> = stat[stat.rfind(')').unwrap_or(0) + 2..]
                .split(' ')
                .collect();
            fields.first() != Some(&"Z") && fields.get(2).and_then(|g| g.parse().ok()) == Some(pgid)
        })
        .collect()
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn chromium_pid(srv: &Server) -> i32 {
    let info: Value = srv.get("/server_info").json().unwrap();
    info["browser"]["pid"].as_i64().expect("a running browser") as i32
}

fn profile_dir(pid: i32) -> std::path::PathBuf {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let arg = cmdline
        .split(|&b| b == 0)
        .filter_map(|a| std::str::from_utf8(a).ok())
        .find_map(|a| a.strip_prefix("--user-data-dir="))
        .expect("a --user-data-dir flag")
        .to_owned();
    std::path::PathBuf::from(arg)
}

#[test]
fn a_crashed_chromium_is_restarted_and_none_outlives_the_server() {
    if !chromium_available() {
        return;
    }
    let site = Site::start();
    let mut srv = Server::builder().with_browser().start();
    let obs = browse(&srv, &site.url("/second"));
    assert_eq!(obs["extras"]["error"], false);
    let first = chromium_pid(&srv);
    assert!(
        group_members(first).len() > 1,
        "Chromium runs helpers in its group"
    );

    // Crash: the next action starts a new browser and says the old pages are gone.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    wait_until("the crashed group is gone", Duration::from_secs(10), || {
        group_members(first).is_empty()
    });
    let info: Value = srv.get("/server_info").json().unwrap();
    assert_eq!(info["browser"]["status"], "crashed", "{info}");
    let obs = browse(&srv, &site.url("/"));
    assert_eq!(obs["extras"]["error"], false, "{obs}");
    assert!(
        content(&obs).starts_with("[The browser had stopped and was restarted before this action: earlier pages and element ids are gone.]\n[Current URL: "),
        "{}",
        content(&obs)
    );
    let info: Value = srv.get("/server_info").json().unwrap();
    assert_eq!(
        (
            &info["browser"]["status"],
            &info["browser"]["launches"],
            &info["browser"]["restarts"]
        ),
        (&json!("running"), &json!(2), &json!(1)),
        "{info}"
    );
    let second = chromium_pid(&srv);
    assert_ne!(first, second);
    let profile = profile_dir(second);
    assert!(profile.exists());

    // A clean shutdown takes the whole group and the profile with it.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(srv.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = srv.child.wait().unwrap();
    assert!(status.success(), "{status:?}\n{}", srv.stderr_log());
    assert_eq!(
        group_members(second),
        Vec::<i32>::new(),
        "Chromium outlived the server"
    );
    assert!(
        !profile.parent().unwrap().exists(),
        "the profile {} is left",
        profile.display()
    );
}

#[test]
fn a_killed_server_takes_chromium_with_it() {
    if !chromium_available() {
        return;
    }
    let mut srv = Server::builder().with_browser().start();
    let obs = browse(&srv, "about:blank");
    assert_eq!(obs["extras"]["error"], false, "{obs}");
    let pid = chromium_pid(&srv);
    let profile = profile_dir(pid);
    srv.child.kill().unwrap();
    srv.child.wait().unwrap();
    wait_until(
        "Chromium died with the server",
        Duration::from_secs(10),
        || group_members(pid).is_empty(),
    );
    // A killed server cannot remove its browser's profile; the next server's browser does.
    assert!(profile.exists());
    let next = Server::builder().with_browser().start();
    let obs = browse(&next, "about:blank");
    assert_eq!(obs["extras"]["error"], false, "{obs}");
    wait_until(
        "the dead server's profile is removed",
        Duration::from_secs(10),
        || !profile.parent().unwrap().exists(),
    );
}
