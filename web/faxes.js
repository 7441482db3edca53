// Faxes and the mail outbox: every fax received (who sent it, to which line, pages, the result
// and the PDF), and the mails switchdesk sends (fax notices), pending, sent or failed, with a
// retry for one that failed.

import { $, el, act, table, cells, count, when, t, label, N_, DASH, callerShown } from "./lib.js";

const LIMIT = 100;
const MAIL_STATE_LABEL = { pending: N_("pending"), sent: N_("sent"), failed: N_("failed") };

let shown = false;

export function init() {
  $("outbox-state").addEventListener("change", loadOutbox);
  $("outbox-state").replaceChildren(
    el("option", { value: "" }, t("any")),
    ...Object.keys(MAIL_STATE_LABEL).map((state) => el("option", { value: state }, label(MAIL_STATE_LABEL, state))),
  );
}

export function show() {
  shown = true;
  loadFaxes();
  loadOutbox();
}

export function hide() {
  shown = false;
}

async function loadFaxes() {
  const result = await act(t("Loading faxes"), "/api/faxes?limit=" + LIMIT);
  if (!shown || !result || !result.ok) return;
  const faxes = result.body || [];
  $("faxes-list").replaceChildren(
    faxes.length
      ? table(
          [t("Received"), t("From"), t("To"), t("Pages"), t("Result"), t("Document")],
          faxes.map((fax) =>
            el(
              "tr",
              { dataset: { fax: fax.call_uuid } },
              ...cells(
                [
                  when(fax.received_at),
                  [callerShown(fax), fax.caller_name].filter(Boolean).join(" ") || DASH,
                  fax.did || DASH,
                  count(fax.pages),
                  fax.success ? t("received") : t("failed: {reason}", { reason: fax.result_text || fax.result_code }),
                  fax.pdf_file_id
                    ? el("a", { href: "/api/files/" + encodeURIComponent(fax.pdf_file_id), target: "_blank", rel: "noopener" }, "PDF")
                    : fax.document_error || DASH,
                ],
                [3],
              ),
            ),
          ),
          { numeric: [3], id: "faxes-table" },
        )
      : el("p", { className: "muted" }, t("No faxes received.")),
  );
}

async function loadOutbox() {
  const state = $("outbox-state").value;
  const result = await act(t("Loading the outbox"), "/api/outbox?limit=" + LIMIT + (state ? "&state=" + encodeURIComponent(state) : ""));
  if (!shown || !result || !result.ok) return;
  const mails = result.body || [];
  $("outbox-list").replaceChildren(
    mails.length
      ? table(
          [t("Created"), t("To"), t("Subject"), t("State"), t("Attempts"), t("Last error"), ""],
          mails.map((mail) =>
            el(
              "tr",
              { dataset: { mail: String(mail.id), state: mail.state } },
              ...cells([when(mail.created_at), (mail.recipients || []).join(", "), mail.subject, label(MAIL_STATE_LABEL, mail.state), count(mail.attempts), mail.last_error || DASH], [4]),
              el(
                "td",
                { className: "num" },
                mail.state === "sent" ? null : el("button", { type: "button", className: "small secondary", dataset: { action: "retry" }, on: { click: () => retry(mail) } }, t("Retry now")),
              ),
            ),
          ),
          { numeric: [4], id: "outbox-table" },
        )
      : el("p", { className: "muted" }, t("No mails.")),
  );
}

async function retry(mail) {
  const result = await act(t("Retrying mail #{id}", { id: mail.id }), "/api/outbox/" + encodeURIComponent(mail.id) + "/retry", { method: "POST" });
  if (result && result.ok) loadOutbox();
}
