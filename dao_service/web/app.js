// The contribution form. The export is encrypted here (AES-256-GCM, a fresh key per file),
// the key is wrapped to the service's public key and each other validator's (RSA-OAEP, SHA-256), and the wallet signs
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

// The wallet signs the service's sign-in request first (EIP-712): the pass the platform's
// sign-in ends with names this wallet only because it signed.
async function signIn(platform) {
  try {
    $("signin-status").textContent = "Waiting for your wallet's signature…";
    const request = await api(`/api/signin/${platform}/request?wallet=${wallet}`);
    const signature = await window.ethereum.request({
      method: "eth_signTypedData_v4", params: [wallet, JSON.stringify(request.typed_data)],
    });
    const query = new URLSearchParams({
      wallet, nonce: request.nonce, expires: String(request.expires), signature, return_to: "/",
    });
    location.href = `/api/signin/${platform}?${query}`;
  } catch (err) {
    $("signin-status").textContent = `Not signed in (${err.message}).`;
  }
}

// What leaves the page: the service publishes, per source, the files an upload may carry
// (config.sources). Of a Reddit or X archive only the public, self-authored files go (X's
// account.js reduced to the account's id, handle and creation date); messages, IP logs,
// contact and payment details, photos and videos stay here. Of a single JSON/CSV file,
// only each item's id, text and time fields. The zip's central directory is read from
// the end of the file, so the entries left out are never read.
const DATA_FILE = /^(data\/[^/]+\.js|[^/]+\.csv)$/;
const MEDIA = "media and other non-data files: never uploaded";

function sourceOf(names) {
  for (const [name, rule] of Object.entries(config.sources || {})) {
    if ((rule.markers || []).some((marker) => names.has(marker))) return [name, rule];
  }
  return [null, null];
}

function reduceYtd(bytes, fields) {
  const text = new TextDecoder().decode(bytes);
  const match = text.match(/^\s*window\.YTD\.[A-Za-z0-9_]+\.part\d+\s*=\s*/);
  if (!match) throw new Error("an X data file does not start with window.YTD");
  const items = JSON.parse(text.slice(match[0].length));
  const reduced = (Array.isArray(items) ? items : []).map((item) => Object.fromEntries(
    Object.entries(item).map(([kind, value]) => [kind, Object.fromEntries(
      Object.entries(value || {}).filter(([key]) => fields.includes(key)))])));
  return new TextEncoder().encode(match[0] + JSON.stringify(reduced));
}

// RFC 4180 rows: quoted fields may hold commas, quotes ("") and line breaks.
function csvRows(text) {
  const rows = []; let row = []; let field = ""; let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(field); field = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field); rows.push(row); row = []; field = "";
    } else field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}

function csvLine(values) {
  return values.map((v) => (/[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v)).join(",");
}

// A conversation's texts are other people's too: such a file is not contributed at all.
function refuseConversation(keys, refused, name) {
  const found = keys.filter((key) => refused.includes(String(key).toLowerCase())).sort();
  if (found.length) {
    throw new Error(`${name} has ${found.join(", ")}: it looks like a conversation, whose messages are other people's too, so it is not contributed`);
  }
}

function reduceGeneric(bytes, fields, refused, name) {
  const text = new TextDecoder().decode(bytes).replace(/^\uFEFF/, "");
  const keep = (item) => {
    if (!item || typeof item !== "object" || Array.isArray(item)) return item;
    refuseConversation(Object.keys(item), refused, name);
    return Object.fromEntries(Object.entries(item).filter(([key]) => fields.includes(key)));
  };
  const start = text.trimStart()[0];
  try {
    if (start === "[") return new TextEncoder().encode(JSON.stringify(JSON.parse(text).map(keep)));
    if (start === "{") {
      return new TextEncoder().encode(text.split(/\r?\n/).filter((line) => line.trim())
        .map((line) => JSON.stringify(keep(JSON.parse(line)))).join("\n"));
    }
  } catch (err) {
    if (err.message.includes("looks like a conversation")) throw err;
    return bytes; // not JSON after all: validation says what is wrong
  }
  const rows = csvRows(text);
  if (!rows.length) return bytes;
  refuseConversation(rows[0], refused, name);
  const columns = rows[0].map((name, i) => [name, i]).filter(([name]) => fields.includes(name));
  if (!columns.length) return bytes;
  const lines = rows.map((row) => csvLine(columns.map(([, i]) => row[i] ?? "")));
  return new TextEncoder().encode(lines.join("\n") + "\n");
}

async function dataFilesOf(file) {
  const head = new Uint8Array(await file.slice(0, 4).arrayBuffer());
  const isZip = head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
  const generic = config.sources.generic || {};
  const privateFiles = generic.private_files || {};
  if (!isZip) {
    const why = privateFiles[file.name.toLowerCase()];
    if (why) throw new Error(`${file.name} is a file of ${why}: it never leaves your computer; choose the whole export (the zip)`);
    const fields = generic.kept_fields || [];
    const plaintext = reduceGeneric(new Uint8Array(await file.arrayBuffer()), fields, generic.refused_fields || [], file.name);
    return { plaintext: plaintext.slice().buffer, taken: [file.name], left: [], reduced: { [file.name]: fields } };
  }
  zip.configure({ useWebWorkers: false });
  const reader = new zip.ZipReader(new zip.BlobReader(file));
  try {
    const entries = (await reader.getEntries()).filter((entry) => !entry.directory);
    const [source, rule] = sourceOf(new Set(entries.map((entry) => entry.filename)));
    const patterns = rule ? rule.taken.map((p) => new RegExp(`^(?:${p})$`)) : [DATA_FILE];
    const keptFields = rule ? rule.kept_fields || {} : {};
    const privateWhy = (entry) => (rule ? rule.private[entry.filename]
      : privateFiles[entry.filename.split("/").pop().toLowerCase()]);
    const taken = entries.filter((entry) => patterns.some((p) => p.test(entry.filename))
      && (rule || !privateWhy(entry)));
    const left = entries.filter((entry) => !taken.includes(entry)).map((entry) => ({
      name: entry.filename,
      why: privateWhy(entry) || (DATA_FILE.test(entry.filename) ? "not public content" : MEDIA),
    }));
    const writer = new zip.ZipWriter(new zip.Uint8ArrayWriter());
    for (const entry of taken) {
      let bytes = await entry.getData(new zip.Uint8ArrayWriter());
      if (keptFields[entry.filename]) bytes = reduceYtd(bytes, keptFields[entry.filename]);
      await writer.add(entry.filename, new zip.Uint8ArrayReader(bytes), {
        lastModDate: entry.lastModDate, level: 6, extendedTimestamp: false,
      });
    }
    const plaintext = (await writer.close()).slice().buffer;
    return { plaintext, source, taken: taken.map((entry) => entry.filename), left, reduced: keptFields };
  } finally {
    await reader.close();
  }
}

function showSelection({ taken, left, reduced }) {
  const names = taken.map((name) => (reduced[name] ? `${name} (only ${reduced[name].join(", ")})` : name));
  $("kept").textContent = `Uploading, encrypted: ${names.join(", ")}.`;
  $("kept").hidden = false;
  $("left-out").hidden = !left.length;
  $("left-out").querySelector("tbody").replaceChildren(...left.map((file) => {
    const row = cells(document.createElement("tr"), [file.name, `${file.why}: never uploaded`]);
    row.dataset.file = file.name;
    return row;
  }));
}

const PREVIEWED = ["contributor", "kind", "community", "day", "language", "text"];

function noPreview(why) {
  $("preview-schema").textContent = config.record_schema.split(" ")[0];
  $("preview").querySelector("tbody").replaceChildren();
  $("preview-note").textContent = why;
  $("preview-section").hidden = false;
}

async function showPreview(sealed) {
  $("preview-note").textContent = "";
  const form = new FormData();
  form.append("contributor", wallet);
  form.append("wrapped_key", base64(sealed.wrapped));
  form.append("iv", base64(sealed.iv));
  form.append("ciphertext", new Blob([sealed.ciphertext]), "export.enc");
  const preview = await api("/api/contributions/preview", { method: "POST", body: form });
  $("preview-schema").textContent = preview.record_schema.split(" ")[0];
  const shown = (record, column) => {
    const value = String(record[column] ?? "–");
    return column === "text" && value.length > 240 ? `${value.slice(0, 240)}…` : value;
  };
  $("preview").querySelector("tbody").replaceChildren(...preview.records.map((record) =>
    cells(document.createElement("tr"), PREVIEWED.map((column) => shown(record, column)))));
  $("preview-section").hidden = false;
}

async function encrypt(plaintext) {
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt"]);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, plaintext);
  const rawKey = await crypto.subtle.exportKey("raw", key);
  const wrapped = await wrapTo(config.intake_public_key, rawKey);
  // Every other validator node opens and judges the upload itself: the key is wrapped to each.
  const coWrapped = {};
  for (const validator of config.co_validators ?? []) {
    coWrapped[validator.address] = base64(await wrapTo(validator.intake_public_key, rawKey));
  }
  return { iv, ciphertext, wrapped, coWrapped };
}

async function wrapTo(publicKey, rawKey) {
  const key = await crypto.subtle.importKey(
    "spki", fromBase64(publicKey), { name: "RSA-OAEP", hash: "SHA-256" }, false, ["encrypt"]);
  return crypto.subtle.encrypt({ name: "RSA-OAEP" }, key, rawKey);
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
  $("records").textContent = receipt.records == null ? "–"
    : `${receipt.records} of schema ${receipt.record_schema.split(" ")[0]}`;
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
    const selected = await dataFilesOf(file);
    const { plaintext } = selected;
    showSelection(selected);
    if (plaintext.byteLength > config.max_upload_bytes) {
      throw new Error(`the export's data is larger than ${config.max_upload_bytes} bytes`);
    }
    const digest = await crypto.subtle.digest("SHA-256", plaintext);
    progress("Encrypting in your browser…", 15);
    const sealed = await encrypt(plaintext);
    const { iv, ciphertext, wrapped, coWrapped } = sealed;
    if (ciphertext.byteLength <= config.preview_max_bytes) {
      progress("Refining a preview of what renters will see…", 20);
      await showPreview(sealed).catch((err) => noPreview(`no preview: ${err.message}`));
    } else {
      noPreview(`no preview for exports over ${(config.preview_max_bytes / 1e6).toFixed(0)} MB; the records follow the schema shown by smaller ones`);
    }
    progress("Check the preview; waiting for your wallet's signature…", 30);
    const { nonce } = await api("/api/contributions/nonce", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ wallet }),
    });
    const typed = {
      types: config.statement_types,
      primaryType: "ContributionStatement",
      domain: config.statement_domain,
      message: { contributor: wallet, sha256: hex(digest), source: "auto", nonce, schema: config.record_schema },
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
    form.append("co_wrapped_keys", JSON.stringify(coWrapped));
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
