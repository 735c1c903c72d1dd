// The page's entry: Kinto Admin, pointed at the pawl serving this page.
//
// The script is served at <origin>/v1/admin/assets/, so the server is the
// same origin's /v1/ whatever host name or port the page was reached by and
// whatever client route the page shows; no server picker is shown
// (settings.singleServer).
import React from "react";
import { render } from "react-dom";
import KintoAdmin from "kinto-admin";

const server = new URL("../../", document.currentScript.src).href;

render(
  React.createElement(KintoAdmin, {
    settings: { singleServer: server, maxPerPage: 50 },
    plugins: [],
  }),
  document.getElementById("root"),
);
