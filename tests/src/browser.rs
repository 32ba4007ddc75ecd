//! A real headless Chromium for the web console's tests: Debian's `/usr/bin/chromium` (or
//! `$CHROMIUM`), driven over the DevTools protocol by `headless_chrome`, with a fresh
//! profile in a temporary directory and a 1280×900 window.
//!
//! Every wait is bounded ([`WAIT_TIMEOUT`] unless a helper takes its own), so a console that
//! never shows what a test waits for fails the test with the page's URL, HTTP status and
//! text instead of hanging it. Screenshots are the tests' kept artifacts: PNG files under
//! `<target dir>/console-screenshots/<test>-<name>.png`; a test that panics while the
//! browser is open leaves a `<test>-failure.png` too. Launching removes the `<test>-*.png`
//! files of an earlier run.
//!
//! A machine without Chromium fails these tests (with a message saying how to install it);
//! it never skips them, since a test that cannot fail proves nothing.
//!
//! Helpers that act on an element take a CSS selector, wait for the first element matching
//! it, and act on that one. Values reach the page as JSON literals, never spliced into
//! script text, so any selector or input text is safe to pass.
//!
//! Why one file: it is one type, the tests' handle on one browser, whose methods each wrap
//! a DevTools step behind the same bounded wait; split, they would only refer to each other.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use base64::Engine;
use headless_chrome::protocol::cdp::{Emulation, Page};
use headless_chrome::{LaunchOptions, Tab};
use serde_json::{Value, json};

/// The longest any single wait of a test may take (an element to appear, a navigation).
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long Chromium may take to start and open its first tab. A cold start on a loaded
/// two-core machine takes a few seconds; headless_chrome itself retries a failed start on
/// another port, which this bounds too.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(90);

/// How long one DevTools call may go unanswered before headless_chrome gives up on the
/// connection. It also closes the connection after this long without any message, so a test
/// must not leave the browser untouched for longer.
const DEVTOOLS_TIMEOUT: Duration = Duration::from_secs(120);

/// Window (and viewport) size in CSS pixels.
pub const WINDOW: (u32, u32) = (1280, 900);

/// Where the Debian package `chromium` installs its launcher.
pub const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// Screenshots taller than this are cut (a runaway page must not make a huge PNG).
const MAX_SCREENSHOT_HEIGHT: u32 = 12_000;

/// Flags beyond headless_chrome's own defaults. This machine's network is closed: without
/// the background-networking flags Chromium keeps opening connections that are refused, and
/// it looks up Google's hosts at every start. `--no-sandbox` (Chromium runs as root here) and
/// `--disable-gpu` come from the launch options; `--lang` makes the console's zh-CN pages the
/// ones a test sees, whatever the machine's locale.
const FLAGS: [&str; 8] = [
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--lang=zh-CN",
];

/// A headless Chromium with one current tab; killed (and its profile removed) when dropped.
pub struct Browser {
    // Field order is drop order: the tab and the browser go before the profile directory
    // they use is removed.
    tab: Arc<Tab>,
    chrome: headless_chrome::Browser,
    test: String,
    screenshots: PathBuf,
    _profile: tempfile::TempDir,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Browser")
            .field("test", &self.test)
            .field("url", &self.tab.get_url())
            .finish_non_exhaustive()
    }
}

/// The Chromium binary tests use: `$CHROMIUM` if set, else [`DEFAULT_CHROMIUM`].
pub fn chromium_path() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from(DEFAULT_CHROMIUM), PathBuf::from)
}

/// The directory screenshots go to: `console-screenshots/` in the target directory the
/// tests were built into (so `CARGO_TARGET_DIR` is honoured).
pub fn screenshot_dir() -> PathBuf {
    let bin_dir = crate::bin_dir();
    bin_dir
        .parent()
        .unwrap_or(&bin_dir)
        .join("console-screenshots")
}

impl Browser {
    /// Starts [`chromium_path`] for the test named `test` (used in screenshot file names).
    ///
    /// # Errors
    /// Chromium is not installed (the message says how to install it), did not start in
    /// time, or its first tab could not be opened.
    pub fn launch(test: &str) -> anyhow::Result<Browser> {
        Browser::launch_at(test, &chromium_path())
    }

    /// Starts the Chromium binary at `path` for the test named `test`.
    ///
    /// # Errors
    /// As [`Browser::launch`].
    pub fn launch_at(test: &str, path: &Path) -> anyhow::Result<Browser> {
        if !path.is_file() {
            bail!(
                "Chromium is not installed at {}: the web console's browser tests need it. \
                 Run `bash scripts/setup.sh` (installs the Debian package `chromium`), or set \
                 CHROMIUM to a Chromium binary.",
                path.display()
            );
        }
        let profile = tempfile::Builder::new()
            .prefix("console-chromium-profile-")
            .tempdir()
            .context("creating Chromium's profile directory")?;
        let options = LaunchOptions::default_builder()
            .headless(true)
            .sandbox(false)
            .enable_gpu(false)
            .window_size(Some(WINDOW))
            .path(Some(path.to_path_buf()))
            .user_data_dir(Some(profile.path().to_path_buf()))
            .args(FLAGS.iter().map(OsStr::new).collect())
            .idle_browser_timeout(DEVTOOLS_TIMEOUT)
            .build()
            .map_err(|error| anyhow!("Chromium launch options: {error}"))?;
        let chrome = launch_within(options, LAUNCH_TIMEOUT)
            .with_context(|| format!("starting {}", path.display()))?;
        let tab = chrome.new_tab().context("opening Chromium's first tab")?;
        prepare(&tab)?;
        let test = sanitize(test);
        let screenshots = screenshot_dir();
        std::fs::create_dir_all(&screenshots)
            .with_context(|| format!("creating {}", screenshots.display()))?;
        remove_screenshots(&screenshots, &test)?;
        Ok(Browser {
            tab,
            chrome,
            test,
            screenshots,
            _profile: profile,
        })
    }

    /// Continues in a new tab of a fresh browser context (like a private window: no cookies
    /// or storage shared with the previous tab), e.g. to act as an employer who is not
    /// logged in to the console.
    ///
    /// # Errors
    /// The context or its tab could not be created.
    pub fn new_context(&mut self) -> anyhow::Result<()> {
        let context = self
            .chrome
            .new_context()
            .context("creating a browser context")?;
        let tab = context.new_tab().context("opening a tab in the context")?;
        prepare(&tab)?;
        self.tab = tab;
        Ok(())
    }

    /// The underlying headless_chrome tab, for what the helpers do not cover.
    pub fn tab(&self) -> &Arc<Tab> {
        &self.tab
    }

    /// Navigates to `url` and waits until the page has loaded.
    ///
    /// # Errors
    /// The navigation failed (e.g. connection refused) or did not finish in time.
    pub fn open(&self, url: &str) -> anyhow::Result<()> {
        self.mark_document()?;
        self.tab
            .navigate_to(url)
            .with_context(|| format!("navigating to {url}"))?;
        self.wait_for_new_document(&format!("{url} to load"))
    }

    /// The current page's URL.
    ///
    /// # Errors
    /// The page could not be asked.
    pub fn url(&self) -> anyhow::Result<String> {
        string(self.eval("location.href")?)
    }

    /// The HTTP status the current document was served with (`None` for pages that came
    /// from no HTTP response, such as `data:` URLs).
    ///
    /// # Errors
    /// The page could not be asked.
    pub fn status(&self) -> anyhow::Result<Option<u16>> {
        let status = self
            .eval("(performance.getEntriesByType('navigation')[0] || {}).responseStatus || null")?;
        Ok(status
            .as_u64()
            .and_then(|status| u16::try_from(status).ok()))
    }

    /// Waits (at most [`WAIT_TIMEOUT`]) until the loaded page has an element matching
    /// `selector`.
    ///
    /// # Errors
    /// None appeared in time; the message has the page's URL, status and text.
    pub fn wait_for(&self, selector: &str) -> anyhow::Result<()> {
        self.wait_for_within(selector, WAIT_TIMEOUT)
    }

    /// As [`Browser::wait_for`], with its own `timeout`.
    ///
    /// # Errors
    /// As [`Browser::wait_for`].
    pub fn wait_for_within(&self, selector: &str, timeout: Duration) -> anyhow::Result<()> {
        let condition = format!("document.querySelector({}) !== null", literal(selector));
        self.wait_until(&format!("`{selector}`"), timeout, &condition)
    }

    /// How many elements match `selector` now (no waiting).
    ///
    /// # Errors
    /// The selector is invalid or the page could not be asked.
    pub fn count(&self, selector: &str) -> anyhow::Result<usize> {
        let count = self.eval(&format!(
            "document.querySelectorAll({}).length",
            literal(selector)
        ))?;
        count
            .as_u64()
            .and_then(|count| usize::try_from(count).ok())
            .with_context(|| format!("counting `{selector}` gave {count}"))
    }

    /// Sets the value of the input, textarea or select matching `selector` to `text`, as
    /// typing would (`input` and `change` events fire), and checks the element took it (a
    /// date input refuses a value not in `YYYY-MM-DD` form, for instance).
    ///
    /// # Errors
    /// No such element in time, it holds no value, or it did not take `text`.
    pub fn fill(&self, selector: &str, text: &str) -> anyhow::Result<()> {
        let value = self.on(
            selector,
            &format!(
                "if (!('value' in el)) throw new Error('it is a <' + el.localName + '>, which \
                 holds no value');
                 el.focus();
                 el.value = {text};
                 el.dispatchEvent(new Event('input', {{bubbles: true}}));
                 el.dispatchEvent(new Event('change', {{bubbles: true}}));
                 return el.value;",
                text = literal(text)
            ),
        )?;
        if value != Value::String(text.to_owned()) {
            bail!("`{selector}` holds {value} after filling in {text:?}");
        }
        Ok(())
    }

    /// Chooses the option with value `value` in the `<select>` matching `selector`.
    ///
    /// # Errors
    /// No such select in time, or it has no such option (the message lists those it has).
    pub fn select(&self, selector: &str, value: &str) -> anyhow::Result<()> {
        self.on(
            selector,
            &format!(
                "if (el.localName !== 'select') throw new Error('it is a <' + el.localName + \
                 '>, not a <select>');
                 const values = Array.from(el.options, option => option.value);
                 if (!values.includes({value})) throw new Error('it has no option ' + \
                 JSON.stringify({value}) + ', only ' + JSON.stringify(values));
                 el.value = {value};
                 el.dispatchEvent(new Event('input', {{bubbles: true}}));
                 el.dispatchEvent(new Event('change', {{bubbles: true}}));
                 return el.value;",
                value = literal(value)
            ),
        )?;
        Ok(())
    }

    /// Clicks the element matching `selector` with the mouse and waits until the page it
    /// leads to (a form submission, a link) has loaded.
    ///
    /// # Errors
    /// No such element in time, or no new page loaded within [`WAIT_TIMEOUT`].
    pub fn click(&self, selector: &str) -> anyhow::Result<()> {
        self.wait_for(selector)?;
        self.mark_document()?;
        self.tab
            .find_element(selector)
            .and_then(|element| element.click().map(|_| ()))
            .with_context(|| format!("clicking `{selector}`"))?;
        self.wait_for_new_document(&format!("the page after clicking `{selector}`"))
    }

    /// Marks the current document, so that [`Browser::wait_for_new_document`] can tell when
    /// another one has replaced it. (headless_chrome's own navigation flag follows network
    /// idleness, which a page that polls never reaches, and a click sets it too late.)
    fn mark_document(&self) -> anyhow::Result<()> {
        self.eval("window.__browserHarnessMark = true").map(drop)
    }

    /// Waits until a document without the mark has loaded completely.
    fn wait_for_new_document(&self, what: &str) -> anyhow::Result<()> {
        self.wait_until(
            what,
            WAIT_TIMEOUT,
            "window.__browserHarnessMark === undefined",
        )
    }

    /// Puts the file at `path` into the file input matching `selector` (DevTools
    /// `DOM.setFileInputFiles`, as if chosen in the file dialog).
    ///
    /// # Errors
    /// The file does not exist, no such input in time, or the input did not take it.
    pub fn upload(&self, selector: &str, path: &Path) -> anyhow::Result<()> {
        let path = path
            .canonicalize()
            .with_context(|| format!("file to upload {}", path.display()))?;
        let path = path
            .to_str()
            .with_context(|| format!("{} is not UTF-8", path.display()))?;
        self.wait_for(selector)?;
        self.tab
            .find_element(selector)
            .and_then(|element| element.set_input_files(&[path]).map(|_| ()))
            .with_context(|| format!("setting `{selector}` to {path}"))?;
        let files = self.on(
            selector,
            "if (el.files == null) throw new Error('it is not a file input'); \
             return el.files.length;",
        )?;
        if files != json!(1) {
            bail!("`{selector}` holds {files} files after choosing {path}");
        }
        Ok(())
    }

    /// The text of the element matching `selector`, as rendered (`innerText`).
    ///
    /// # Errors
    /// No such element in time.
    pub fn text(&self, selector: &str) -> anyhow::Result<String> {
        string(self.on(selector, "return el.innerText;")?)
    }

    /// The texts of every element matching `selector` now (no waiting).
    ///
    /// # Errors
    /// The page could not be asked.
    pub fn texts(&self, selector: &str) -> anyhow::Result<Vec<String>> {
        let texts = self.eval(&format!(
            "Array.from(document.querySelectorAll({}), el => el.innerText)",
            literal(selector)
        ))?;
        serde_json::from_value(texts).context("texts of the elements")
    }

    /// The attribute `name` of the element matching `selector` (`None` if it has none).
    ///
    /// # Errors
    /// No such element in time.
    pub fn attr(&self, selector: &str, name: &str) -> anyhow::Result<Option<String>> {
        let value = self.on(
            selector,
            &format!("return el.getAttribute({});", literal(name)),
        )?;
        match value {
            Value::Null => Ok(None),
            Value::String(value) => Ok(Some(value)),
            other => bail!("attribute {name} of `{selector}` is {other}"),
        }
    }

    /// Fetches `url` from the current page with its cookies (same-origin credentials), as a
    /// link on the page would; returns the status and the body as text.
    ///
    /// # Errors
    /// The request failed or took longer than [`WAIT_TIMEOUT`].
    pub fn fetch(&self, url: &str) -> anyhow::Result<(u16, String)> {
        let answer = self
            .eval(&format!(
                "fetch({url}, {{credentials: 'same-origin', signal: AbortSignal.timeout({ms})}})
                    .then(async response => [response.status, await response.text()])",
                url = literal(url),
                ms = WAIT_TIMEOUT.as_millis()
            ))
            .with_context(|| format!("fetching {url} from the page"))?;
        serde_json::from_value(answer).context("fetch answer")
    }

    /// Evaluates the JavaScript expression `expression` in the page (awaiting it if it is
    /// a promise) and returns its value as JSON.
    ///
    /// # Errors
    /// It threw (the message has the exception), or the page could not be reached.
    pub fn eval(&self, expression: &str) -> anyhow::Result<Value> {
        // The result travels as a JSON string: headless_chrome hands back objects only as
        // remote references, and an exception would otherwise come back as a value.
        let script = format!(
            "(async () => {{
                try {{ return JSON.stringify({{ok: await ({expression})}}); }}
                catch (error) {{ return JSON.stringify({{error: String(error)}}); }}
            }})()"
        );
        let result = self.tab.evaluate(&script, true)?;
        let text = result
            .value
            .as_ref()
            .and_then(Value::as_str)
            .with_context(|| format!("evaluating {expression} gave {result:?}"))?;
        let mut answer: Value = serde_json::from_str(text)?;
        if let Some(error) = answer.get("error") {
            bail!("{error}");
        }
        Ok(answer.get_mut("ok").map(Value::take).unwrap_or(Value::Null))
    }

    /// Saves a PNG of the whole page (not only the window) as
    /// `<screenshot dir>/<test>-<name>.png`, prints its path and returns it.
    ///
    /// # Errors
    /// The page could not be captured or the file not written.
    pub fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        let size = self.eval(
            "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]",
        )?;
        let dimension = |index: usize, least: u32| {
            size.get(index)
                .and_then(Value::as_f64)
                .map_or(f64::from(least), |pixels| pixels.max(f64::from(least)))
        };
        let clip = Page::Viewport {
            x: 0.0,
            y: 0.0,
            width: dimension(0, WINDOW.0),
            height: dimension(1, WINDOW.1).min(f64::from(MAX_SCREENSHOT_HEIGHT)),
            scale: 1.0,
        };
        let data = self
            .tab
            .call_method(Page::CaptureScreenshot {
                format: Some(Page::CaptureScreenshotFormatOption::Png),
                quality: None,
                clip: Some(clip),
                from_surface: Some(true),
                capture_beyond_viewport: Some(true),
                optimize_for_speed: None,
            })
            .context("capturing a screenshot")?
            .data;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .context("screenshot is not base64")?;
        let path = self
            .screenshots
            .join(format!("{}-{}.png", self.test, sanitize(name)));
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
        println!("screenshot: {}", path.display());
        Ok(path)
    }

    /// Runs the statements `body` with `el` bound to the first element matching `selector`
    /// (waited for), returning what they return.
    fn on(&self, selector: &str, body: &str) -> anyhow::Result<Value> {
        self.wait_for(selector)?;
        self.eval(&format!(
            "(el => {{ {body} }})(document.querySelector({}))",
            literal(selector)
        ))
        .with_context(|| format!("on `{selector}`"))
    }

    /// Polls (every 100 ms, at most `timeout`) until a loaded document makes the JavaScript
    /// `condition` true. Failures while a navigation replaces the document count as "not
    /// yet".
    fn wait_until(&self, what: &str, timeout: Duration, condition: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let check = format!("document.readyState === 'complete' && ({condition})");
        loop {
            let last_error = match self.eval(&check) {
                Ok(Value::Bool(true)) => return Ok(()),
                Ok(_) => None,
                Err(error) => Some(error),
            };
            if Instant::now() >= deadline {
                let error = last_error.map_or_else(String::new, |error| format!(" ({error:#})"));
                bail!(
                    "timed out after {timeout:?} waiting for {what}{error}; {}",
                    self.describe()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The current page's URL, status and the start of its text, for failure messages.
    fn describe(&self) -> String {
        let url = self.tab.get_url();
        let status = self.status().ok().flatten();
        let text = self
            .eval("document.body ? document.body.innerText : ''")
            .ok()
            .and_then(|text| text.as_str().map(str::to_owned))
            .unwrap_or_default();
        let text: String = text.chars().take(600).collect();
        format!("the page is {url} (HTTP {status:?}), reading: {text:?}")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The page a failing test was looking at is the most useful artifact of all.
        if std::thread::panicking() {
            let _ = self.screenshot("failure");
        }
    }
}

/// Bounds the tab's own waits and makes its viewport exactly [`WINDOW`]: `--window-size`
/// sizes the window, whose viewport is smaller by the (invisible) browser UI.
fn prepare(tab: &Tab) -> anyhow::Result<()> {
    tab.set_default_timeout(WAIT_TIMEOUT);
    // Built from JSON: the generated struct has a dozen optional fields and no Default.
    let metrics: Emulation::SetDeviceMetricsOverride = serde_json::from_value(json!({
        "width": WINDOW.0,
        "height": WINDOW.1,
        "deviceScaleFactor": 1,
        "mobile": false,
    }))
    .context("device metrics")?;
    tab.call_method(metrics)
        .context("setting the viewport size")?;
    Ok(())
}

/// Runs headless_chrome's launch on a thread so that it is bounded by `timeout`. If it is
/// late, the thread still finishes it and drops the browser, which kills the process.
fn launch_within(
    options: LaunchOptions<'static>,
    timeout: Duration,
) -> anyhow::Result<headless_chrome::Browser> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(headless_chrome::Browser::new(options));
    });
    match receiver.recv_timeout(timeout) {
        Ok(result) => result,
        Err(_) => bail!("Chromium did not start within {timeout:?}"),
    }
}

/// Removes the screenshots an earlier run of `test` left in `dir`, so that the artifacts
/// are all of the latest run (a `failure.png` of a run that since passed would mislead).
fn remove_screenshots(dir: &Path, test: &str) -> anyhow::Result<()> {
    let prefix = format!("{test}-");
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        let name = path.file_name().map(|name| name.to_string_lossy());
        if name.is_some_and(|name| name.starts_with(&prefix) && name.ends_with(".png")) {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

/// `value` as a JavaScript string literal.
fn literal(value: &str) -> String {
    // JSON string syntax is a subset of JavaScript's (U+2028/2029 included since ES2019).
    Value::String(value.to_owned()).to_string()
}

/// A JSON value that must be a string.
fn string(value: Value) -> anyhow::Result<String> {
    match value {
        Value::String(text) => Ok(text),
        other => bail!("expected text, got {other}"),
    }
}

/// `name` reduced to characters safe in a file name.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
