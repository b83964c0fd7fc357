// Renders /openapi.json (every mounted dialect and the demo's own routes) with the vendored
// Swagger UI (assets/swagger-ui, see its README). "Try it out" sends requests to this server.
"use strict";
window.addEventListener("DOMContentLoaded", () => {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // No calls to a validator service elsewhere: the demo works offline.
    validatorUrl: null,
  });
});
