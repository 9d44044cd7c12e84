// The contributors' page: one wallet's contributions, tokens and earnings. The service
// supplies the data and the transactions (a claim carries its Merkle proof); the wallet
// sends them, or signs the withdrawal, itself.
"use strict";

const $ = (id) => document.getElementById(id);
let wallet = null;
let view = null;

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

function notice(message) {
  $("notice").textContent = message;
  $("notice").hidden = false;
}

function eth(wei) {
  const value = BigInt(wei);
  const whole = value / 10n ** 18n;
  const fraction = (value % 10n ** 18n).toString().padStart(18, "0").slice(0, 6).replace(/0+$/, "");
  return `${whole}${fraction ? "." + fraction : ""} ETH`;
}

function tokens(wei) {
  return eth(wei).replace(" ETH", "");
}

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail ? JSON.stringify(body.detail) : `HTTP ${response.status}`);
  return body;
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

async function send(call) {
  const hash = await window.ethereum.request({
    method: "eth_sendTransaction", params: [{ from: wallet, to: call.to, data: call.data }],
  });
  for (let i = 0; i < 120; i++) {
    const receipt = await window.ethereum.request({ method: "eth_getTransactionReceipt", params: [hash] });
    if (receipt) {
      if (receipt.status !== "0x1") throw new Error(`the transaction ${hash} reverted`);
      return hash;
    }
    await new Promise((done) => setTimeout(done, 500));
  }
  throw new Error(`the transaction ${hash} was not mined in a minute`);
}

function renderContributions() {
  $("contributions").querySelector("tbody").replaceChildren(...view.contributions.map((c) => {
    const row = document.createElement("tr");
    row.dataset.id = c.id;
    row.append(cell(c.id), cell(c.source), cell(c.status), cell(c.score), cell(tokens(c.tokens_wei)),
      cell(c.records ?? "–"), cell(c.record_schema ? c.record_schema.split(" ")[0] : "as uploaded"));
    const action = document.createElement("td");
    if (c.status === "minted") {
      const button = document.createElement("button");
      button.textContent = "Withdraw";
      button.className = "withdraw";
      button.addEventListener("click", () => withdraw(c));
      action.appendChild(button);
    }
    row.appendChild(action);
    return row;
  }));
  $("contributions-section").hidden = false;
}

// Income by score and by measured value, per rental, as `datadao earnings` shows it: the
// service counts it with the command line's own code and gives the totals as text,
// rounded as everywhere (toward zero, 6 decimals; `eth` above rounds the same way).
function renderEarnings() {
  const income = view.income;
  const blocks = income.datasets.filter((d) => d.rentals.length || BigInt(d.claimable_wei) > 0n).map((d) => {
    const block = document.createElement("div");
    block.className = "dataset-earnings";
    block.dataset.dataset = d.dataset_id;
    const title = document.createElement("h3");
    title.textContent = `Dataset ${d.dataset_id}`;
    const table = document.createElement("table");
    table.className = "rentals";
    table.innerHTML = "<thead><tr><th>rental</th><th>split by</th><th>value of your data</th><th>earned</th><th>table (IPFS)</th></tr></thead>";
    const body = document.createElement("tbody");
    body.append(...d.rentals.map((r) => {
      const row = document.createElement("tr");
      row.append(
        cell(r.rental_id === null ? "deposit" : `#${r.rental_id}`),
        cell(r.split_by),
        cell(r.value === null ? "-" : r.value.toFixed(4)),
        // A root still waiting out its challenge delay: earned, not yet claimable.
        cell(r.claimable_at ? `${r.amount} (claimable after ${new Date(r.claimable_at * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC)` : r.amount),
        cell(r.table_cid ?? "-"),
      );
      return row;
    }));
    table.appendChild(body);
    const summary = document.createElement("p");
    summary.className = "summary";
    summary.textContent = `Earned ${eth(d.earned_wei)}, claimed ${eth(d.claimed_wei)}, claimable ${d.claimable}.`;
    block.append(title, table, summary);
    return block;
  });
  if (!blocks.length) {
    const none = document.createElement("p");
    none.textContent = "No rental has paid you yet.";
    blocks.push(none);
  }
  $("earnings").replaceChildren(...blocks);
  $("claimable").textContent = income.claimable;
  $("claim").disabled = income.claim_calls.length === 0;
  $("earnings-section").hidden = false;
}

async function refresh() {
  view = await api(`/api/contributors/${wallet}`);
  $("tokens").textContent = tokens(view.tokens_wei);
  $("votes").textContent = tokens(view.votes_wei);
  $("delegate").textContent = view.delegate.toLowerCase() === wallet.toLowerCase() ? "yourself" : view.delegate;
  $("holdings").hidden = false;
  renderContributions();
  renderEarnings();
}

async function act(what, work) {
  $("error").hidden = true;
  $("notice").hidden = true;
  try {
    notice(await work());
    await refresh();
  } catch (err) {
    showError(`${what} failed: ${err.message}`);
  }
}

// One claim collects everything claimable: the wallet sends each transaction the service
// lists (income by score, and by value with its Merkle proof, per dataset) in turn.
function claim() {
  return act("The claim", async () => {
    const amount = view.income.claimable;
    const hashes = [];
    for (const call of view.income.claim_calls) hashes.push(await send(call));
    return `Claimed ${amount} (tx ${hashes.join(", ")}).`;
  });
}

function withdraw(c) {
  return act("The withdrawal", async () => {
    const deadline = Math.floor(Date.now() / 1000) + 3600;
    const typed = {
      types: view.withdrawal_types,
      primaryType: "Withdrawal",
      domain: view.withdrawal_domain,
      message: { fingerprint: c.fingerprint, deadline },
    };
    const signature = await window.ethereum.request({
      method: "eth_signTypedData_v4", params: [wallet, JSON.stringify(typed)],
    });
    const done = await api(`/api/contributions/${c.id}/withdraw`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ deadline, signature }),
    });
    // With custody nodes, each destroys its share; the key is gone once N - M + 1 have.
    const shredded = done.key_destruction
      ? `${done.key_destruction.summary}.`
      : "its key is destroyed.";
    return `Withdrew contribution ${c.id}: it earns nothing from later rentals; ${shredded}`;
  });
}

function delegate() {
  return act("The delegation", async () => {
    const to = $("delegate-to").value.trim();
    const hash = await send(await api(`/api/calls/delegate?to=${encodeURIComponent(to)}`));
    return `Your tokens now vote through ${to} (tx ${hash}).`;
  });
}

async function connect() {
  if (!window.ethereum) return showError("No wallet found: install a browser wallet (EIP-1193) and reload.");
  try {
    [wallet] = await window.ethereum.request({ method: "eth_requestAccounts" });
    $("wallet-status").textContent = `Connected: ${wallet}`;
    await refresh();
  } catch (err) {
    showError(`Could not connect: ${err.message}`);
  }
}

$("connect").addEventListener("click", connect);
$("delegate-button").addEventListener("click", delegate);
$("claim").addEventListener("click", claim);
