// Package openapi holds the OpenAPI 3.1 description of Parley's REST API,
// served at /api/v1/openapi.json, and checks responses against it in tests.
package openapi

import _ "embed"

// Document is the OpenAPI 3.1 document, as JSON.
//
//go:embed openapi.json
var Document []byte
