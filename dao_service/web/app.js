// The contribution form. The export is encrypted here (AES-256-GCM, a fresh key per file),
// the key is wrapped to the service's public key (RSA-OAEP, SHA-256), and the wallet signs
// an EIP-712 statement over the plaintext's SHA-256. Only ciphertext leaves the page.
"use strict";

const $ = (id) => document.getElementById(id);
let config = null;
let wallet = null;
let signInPass = null;  // from signing in with the platform: binds the export's account
const SIGN_IN_KEY = "datadao-sign-in";
const RESULT = { pass: "passed", fail: "failed", not_available: "not available" };

// Back from the platform's sign-in: the service put the pass in the fragment.
if (location.hash.startsWith("#signin=")) {
  sessionStorage.setItem(SIGN_IN_KEY, decodeURIComponent(location.hash.slice("#signin=".length)));
  history.replaceState(null, "", location.pathname);
}

function cells(row, values) {
  for (const value of values) {
    const cell = document.createElement("td");
    cell.textContent = value;
    row.appendChild(cell);
  }
  return row;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

function hex(bytes) {
  return "0x" + Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

function base64(bytes) {
  let text = "";
  const view = new Uint8Array(bytes);
  for (let i = 0; i < view.length; i += 0x8000) text += String.fromCharCode(...view.subarray(i, i + 0x8000));
  return btoa(text);
}

function fromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail ? JSON.stringify(body.detail) : `HTTP ${response.status}`);
  return body;
}

function progress(label, percent) {
  $("progress").hidden = false;
  $("progress-label").textContent = label;
  $("progress-bar").value = percent;
}

async function connect() {
  if (!window.ethereum) return showError("No wallet found: install a browser wallet (EIP-1193) and reload.");
  try {
    [wallet] = await window.ethereum.request({ method: "eth_requestAccounts" });
    config = await api("/api/config");
    $("connect").textContent = `Connected: ${wallet.slice(0, 6)}…${wallet.slice(-4)}`;
    await showChain();
    const code = await api(`/api/code?wallet=${wallet}`);
    $("verification-code").textContent = code.code;
    showPolicy();
    await showSignIn();
    $("code-step").hidden = false;
    $("upload-step").hidden = false;
  } catch (err) {
    showError(`Could not connect: ${err.message}`);
  }
}

async function showChain() {
  const chainId = parseInt(await window.ethereum.request({ method: "eth_chainId" }), 16);
  const elsewhere = chainId !== config.chain_id;
  $("wallet-status").textContent = elsewhere
    ? `Connected: ${wallet}. Your wallet is on chain ${chainId}; the DAO is on chain ${config.chain_id}.`
    : `Connected: ${wallet}`;
  $("switch-chain").hidden = !elsewhere;
  $("switch-chain").textContent = `Switch to chain ${config.chain_id}`;
}

async function switchChain() {
  try {
    await window.ethereum.request({
      method: "wallet_switchEthereumChain", params: [{ chainId: "0x" + config.chain_id.toString(16) }],
    });
    await showChain();
  } catch (err) {
    showError(`The wallet did not switch: ${err.message}`);
  }
}

function showPolicy() {
  $("policy-table").querySelector("tbody").replaceChildren(...config.checks.map((check) =>
    cells(document.createElement("tr"), [check.name, check.required ? "required" : "optional (adds to the score)", check.what])));
}

async function showSignIn() {
  for (const platform of ["reddit", "x"]) $(`signin-${platform}`).hidden = !config.sign_in_platforms.includes(platform);
  $("signin-offer").hidden = config.sign_in_platforms.length === 0;
  const stored = sessionStorage.getItem(SIGN_IN_KEY);
  signInPass = null;
  $("signin-status").textContent = "";
  if (!stored) return;
  try {
    const signed = await api(`/api/signin/pass/read?value=${encodeURIComponent(stored)}`);
    if (signed.wallet.toLowerCase() !== wallet.toLowerCase()) throw new Error("it was for another wallet");
    signInPass = stored;
    $("signin-status").textContent = `Signed in with ${signed.platform} as ${signed.account_name}.`;
  } catch (err) {
    sessionStorage.removeItem(SIGN_IN_KEY);
    $("signin-status").textContent = `Sign in again (${err.message}).`;
  }
}

function signIn(platform) {
  location.href = `/api/signin/${platform}?wallet=${wallet}&return_to=/`;
}

// The data files of an export archive: Reddit's CSVs, X's data/*.js. Only these are
// encrypted and uploaded; media (gigabytes in an X archive) stays here. The central
// directory is read from the end of the file, so only the data entries are read.
const DATA_FILE = /^(data\/[^/]+\.js|[^/]+\.csv)$/;

async function dataFilesOf(file) {
  const head = new Uint8Array(await file.slice(0, 4).arrayBuffer());
  const isZip = head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
  if (!isZip) return { plaintext: await file.arrayBuffer(), kept: null };
  zip.configure({ useWebWorkers: false });
  const reader = new zip.ZipReader(new zip.BlobReader(file));
  try {
    const entries = await reader.getEntries();
    const data = entries.filter((entry) => !entry.directory && DATA_FILE.test(entry.filename));
    if (!data.length || data.length === entries.filter((entry) => !entry.directory).length) {
      return { plaintext: await file.arrayBuffer(), kept: null };
    }
    const writer = new zip.ZipWriter(new zip.Uint8ArrayWriter());
    let size = 0;
    for (const entry of data) {
      const bytes = await entry.getData(new zip.Uint8ArrayWriter());
      size += bytes.length;
      await writer.add(entry.filename, new zip.Uint8ArrayReader(bytes), {
        lastModDate: entry.lastModDate, level: 6, extendedTimestamp: false,
      });
    }
    const plaintext = (await writer.close()).slice().buffer;
    return { plaintext, kept: { files: data.length, of: entries.length, bytes: size } };
  } finally {
    await reader.close();
  }
}

async function encrypt(plaintext) {
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt"]);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, plaintext);
  const serviceKey = await crypto.subtle.importKey(
    "spki", fromBase64(config.intake_public_key), { name: "RSA-OAEP", hash: "SHA-256" }, false, ["encrypt"]);
  const rawKey = await crypto.subtle.exportKey("raw", key);
  const wrapped = await crypto.subtle.encrypt({ name: "RSA-OAEP" }, serviceKey, rawKey);
  return { iv, ciphertext, wrapped };
}

function upload(form) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", "/api/contributions");
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) progress(`Uploading… ${Math.round((100 * event.loaded) / event.total)}%`,
        40 + (55 * event.loaded) / event.total);
    };
    request.onload = () => {
      let body = {};
      try { body = JSON.parse(request.responseText); } catch (_) { /* not JSON */ }
      if (request.status >= 200 && request.status < 300) resolve(body);
      else reject(new Error(body.detail ? JSON.stringify(body.detail) : `HTTP ${request.status}`));
    };
    request.onerror = () => reject(new Error("the upload failed (network)"));
    request.send(form);
  });
}

function render(receipt) {
  $("receipt").hidden = false;
  const stages = $("stages");
  stages.replaceChildren(...receipt.stages.map((stage) => {
    const item = document.createElement("li");
    item.textContent = stage.name;
    item.dataset.stage = stage.name;
    item.className = stage.name === "rejected" ? "rejected" : stage.done ? "done" : "";
    return item;
  }));
  $("verdict").textContent = receipt.accepted ? `Accepted — ${receipt.status}` : "Rejected";
  $("verdict").className = receipt.accepted ? "accepted" : "rejected";
  const when = receipt.already_contributed_at;
  $("already").hidden = !when;
  if (when) $("already").textContent = `You already contributed this export on ${new Date(when * 1000).toLocaleString()}; this is its receipt.`;
  const required = new Set(receipt.report.required_checks || []);
  const checks = [...(receipt.report.authenticity || []), ...(receipt.report.ownership || [])];
  $("checks").querySelector("tbody").replaceChildren(...checks.map((check) => {
    const row = cells(document.createElement("tr"), [
      check.name + (required.has(check.name) ? " (required)" : ""), RESULT[check.status] || check.status, check.reason]);
    row.children[1].className = check.status;
    row.dataset.check = check.name;
    return row;
  }));
  // A rejection has no score: show why, not an empty breakdown and a zero.
  $("breakdown").hidden = !receipt.accepted;
  $("outcome").hidden = !receipt.accepted;
  $("reasons").replaceChildren(...receipt.rejection_reasons.map((reason) => {
    const item = document.createElement("li");
    item.textContent = reason;
    return item;
  }));
  $("breakdown").querySelector("tbody").replaceChildren(...(receipt.report.breakdown || []).map((line) =>
    cells(document.createElement("tr"), [line.signal, line.value, line.reason])));
  $("score").textContent = receipt.score;
  // Tokens as the registry minted them (units of 10^-18), rounded toward zero like mine.js.
  const minted = receipt.tokens_wei ? BigInt(receipt.tokens_wei) : null;
  $("tokens").textContent = minted === null ? "–" : `${minted / 10n ** 18n}${(minted % 10n ** 18n) ? "." + (minted % 10n ** 18n).toString().padStart(18, "0").slice(0, 4).replace(/0+$/, "") : ""}`;
  $("cid").textContent = receipt.cid || "–";
  $("tx").textContent = receipt.tx_hash || (receipt.last_error ? `waiting: ${receipt.last_error}` : "–");
}

async function follow(receipt) {
  render(receipt);
  while (receipt.accepted && receipt.status !== "minted") {
    await new Promise((done) => setTimeout(done, 500));
    receipt = await api(`/api/contributions/${receipt.id}`);
    render(receipt);
  }
  progress(receipt.accepted ? "Done: minted." : "Rejected.", 100);
}

async function contribute() {
  $("error").hidden = true;
  const file = $("export-file").files[0];
  if (!file) return showError("Choose an export file first.");
  $("contribute").disabled = true;
  try {
    progress("Reading the export…", 5);
    const { plaintext, kept } = await dataFilesOf(file);
    if (kept) {
      const megabytes = (kept.bytes / 1e6).toFixed(1);
      $("kept").textContent = `Uploading only the export's data: ${kept.files} of ${kept.of} files (${megabytes} MB); the rest stays on your computer.`;
      $("kept").hidden = false;
    }
    if (plaintext.byteLength > config.max_upload_bytes) {
      throw new Error(`the export's data is larger than ${config.max_upload_bytes} bytes`);
    }
    const digest = await crypto.subtle.digest("SHA-256", plaintext);
    progress("Encrypting in your browser…", 15);
    const { iv, ciphertext, wrapped } = await encrypt(plaintext);
    progress("Waiting for your wallet's signature…", 30);
    const { nonce } = await api("/api/contributions/nonce", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ wallet }),
    });
    const typed = {
      types: config.statement_types,
      primaryType: "ContributionStatement",
      domain: config.statement_domain,
      message: { contributor: wallet, sha256: hex(digest), source: "auto", nonce },
    };
    const signature = await window.ethereum.request({
      method: "eth_signTypedData_v4", params: [wallet, JSON.stringify(typed)],
    });
    const form = new FormData();
    form.append("contributor", wallet);
    form.append("sha256", hex(digest));
    form.append("source", "auto");
    form.append("nonce", nonce);
    form.append("signature", signature);
    form.append("wrapped_key", base64(wrapped));
    form.append("iv", base64(iv));
    if (signInPass) form.append("sign_in", signInPass);
    form.append("ciphertext", new Blob([ciphertext]), "export.enc");
    progress("Uploading… 0%", 40);
    const receipt = await upload(form);
    progress("Received; following the stages…", 96);
    await follow(receipt);
  } catch (err) {
    showError(`Contribution failed: ${err.message}`);
  } finally {
    $("contribute").disabled = false;
  }
}

$("connect").addEventListener("click", connect);
$("switch-chain").addEventListener("click", switchChain);
$("signin-reddit").addEventListener("click", () => signIn("reddit"));
$("signin-x").addEventListener("click", () => signIn("x"));
$("export-file").addEventListener("change", () => { $("contribute").disabled = !$("export-file").files.length; });
$("contribute").addEventListener("click", contribute);
