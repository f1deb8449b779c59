// Small DOM helpers: no HTML strings are ever parsed, so API data cannot inject markup.

export const $ = (id) => document.getElementById(id);

/** Creates `tag` with text or children. */
export function el(tag, { text = null, className = null, attrs = {} } = {}, children = []) {
  const node = document.createElement(tag);
  if (text !== null) node.textContent = text;
  if (className) node.className = className;
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}

/** Shows `message` in the error element `target` (an element or id); null hides it. */
export function showError(target, message) {
  const node = typeof target === "string" ? $(target) : target;
  node.textContent = message || "";
  node.hidden = !message;
}

// What an API error reason means for the person using the app; the API's own message and reason
// are shown beside it.
const REASONS = {
  vehicle_unavailable: "This vehicle is not available: another rider has it, or it was removed.",
  vehicle_in_use: "This vehicle is in a ride; remove it once the ride has ended.",
  vehicle_not_found: "This vehicle does not exist (any more).",
  active_ride_exists: "You already have a ride in progress.",
  ride_already_ended: "This ride has already ended.",
  ride_not_found: "This ride was not found.",
  username_taken: "This username is taken; choose another.",
  invalid_credentials: "Wrong username or password.",
  too_many_attempts: "Too many attempts; wait a few minutes and try again.",
  missing_token: "Sign in first (Account tab).",
  invalid_token: "Your session has ended; sign in again.",
  token_expired: "Your session has expired; sign in again.",
  admin_required: "Only admins can do this.",
  not_vehicle_owner: "Only the vehicle's owner can do this.",
  promo_code_not_found: "There is no active promo code with this name.",
  promo_code_exists: "A promo code with this name exists already.",
  unknown_city: "This city is not served.",
  upstream_unavailable: "The service is unavailable right now; try again shortly.",
  deadline_exceeded: "The service took too long to answer; try again.",
};

/** A readable message for an error: what it means, then the API's message, field and reason. */
export function describe(error) {
  if (!error || !error.message) return "Something went wrong.";
  const message = error.message.charAt(0).toUpperCase() + error.message.slice(1);
  const field = error.field && !message.toLowerCase().includes(error.field) ? ` (${error.field})` : "";
  const meaning = error.reason && REASONS[error.reason];
  if (meaning) return `${meaning} — ${message}: ${error.reason}${field}`;
  return `${message}${field}`;
}

/** Definition-list rows. */
export function fillDetails(dl, rows) {
  dl.replaceChildren();
  for (const [term, value] of rows) {
    dl.append(el("dt", { text: term }), el("dd", { text: value }));
  }
}

export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

export function formatTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/**
 * Form handling: validates every field before sending (messages beside the fields), runs
 * `action(values)`, and shows an API error beside the field it names, or under the form.
 */
export function bindForm(form, action, { validate = () => ({}) } = {}) {
  const formError = form.querySelector(".form-error");
  const submit = form.querySelector("button[type=submit]");
  // A field's message goes as soon as the field is edited.
  form.addEventListener("input", (event) => clearFieldError(event.target));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    showError(formError, null);
    const values = Object.fromEntries(new FormData(form).entries());
    const problems = {};
    for (const input of form.querySelectorAll("input, select")) {
      if (!input.checkValidity()) problems[input.name] = input.title && input.validity.patternMismatch
        ? input.title : input.validationMessage;
    }
    for (const [name, problem] of Object.entries(validate(values))) {
      if (problem && !problems[name]) problems[name] = problem;
    }
    const names = Object.keys(problems).filter((name) => problems[name]);
    if (names.length) {
      for (const name of names) setFieldError(form, name, problems[name]);
      form.elements[names[0]]?.focus();
      return;
    }
    submit.disabled = true;
    try {
      await action(values);
    } catch (error) {
      const field = error.field && form.elements[error.field] ? error.field : null;
      if (field) setFieldError(form, field, describe(error));
      else showError(formError, describe(error));
    } finally {
      submit.disabled = false;
    }
  });
}

export function setFieldError(form, name, message) {
  const input = form.elements[name];
  if (!input) {
    showError(form.querySelector(".form-error"), message);
    return;
  }
  input.setAttribute("aria-invalid", "true");
  const note = el("span", { text: message, className: "field-error", attrs: { id: `${form.id}-${name}-error` } });
  input.setAttribute("aria-describedby", note.id);
  input.closest("label").append(note);
}

function clearFieldErrors(form) {
  for (const input of form.querySelectorAll("[aria-invalid]")) clearFieldError(input);
}

function clearFieldError(input) {
  if (!input.hasAttribute || !input.hasAttribute("aria-invalid")) return;
  input.closest("label")?.querySelector(".field-error")?.remove();
  input.removeAttribute("aria-invalid");
  input.removeAttribute("aria-describedby");
}
