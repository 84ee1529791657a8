#!/usr/bin/env node
// Prints the managed Chromium policy for the kiosk (deploy/install.sh writes it to
// /etc/chromium/policies/managed/keylocker.json, root-owned, so the kiosk user cannot change it).
// Usage: node chromium-policy.mjs [PORT]   (the screens' port, default 8080)
//
// Navigation is allowed to the two screens only; everything else is blocked
// (URLBlocklist/URLAllowlist gate navigations, not the scripts, styles and WebSocket a screen
// loads from its own server). No developer tools, no profile kept (ephemeral), no password
// manager or autofill, no downloads, no printing, no sign-in, sync, extensions or popups.
const port = Number(process.argv[2] ?? 8080);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write(`chromium-policy: port must be 1-65535, not ${process.argv[2]}\n`);
  process.exit(2);
}
const screens = [`http://127.0.0.1:${port}/top/`, `http://127.0.0.1:${port}/bottom/`];
const policy = {
  URLBlocklist: ['*'],
  URLAllowlist: screens,
  DeveloperToolsAvailability: 2,
  ForceEphemeralProfiles: true,
  IncognitoModeAvailability: 1,
  BrowserGuestModeEnabled: false,
  BrowserAddPersonEnabled: false,
  BrowserSignin: 0,
  SyncDisabled: true,
  PasswordManagerEnabled: false,
  AutofillAddressEnabled: false,
  AutofillCreditCardEnabled: false,
  DownloadRestrictions: 3,
  AllowFileSelectionDialogs: false,
  PrintingEnabled: false,
  ExtensionInstallBlocklist: ['*'],
  DefaultPopupsSetting: 2,
  DefaultNotificationsSetting: 2,
  DefaultGeolocationSetting: 2,
  TranslateEnabled: false,
  SpellcheckEnabled: false,
  SearchSuggestEnabled: false,
  MetricsReportingEnabled: false,
  EditBookmarksEnabled: false,
  BookmarkBarEnabled: false,
  TaskManagerEndProcessEnabled: false,
};
process.stdout.write(`${JSON.stringify(policy, null, 2)}\n`);
