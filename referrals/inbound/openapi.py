"""The providers' webhooks in the OpenAPI document (/api/schema/): plain Django views (a raw body, Twilio's form),
so drf-spectacular cannot see them; a postprocessing hook adds what it would have written.

Listed in ``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]`` after drf-spectacular's own enum hook.
"""

ERROR = {"$ref": "#/components/schemas/InboundError"}


def _errors(*codes):
    descriptions = {
        "400": "Malformed: the message (or form) cannot be read, or a required field is missing.",
        "403": "Not signed, signed with another secret, or (email) a timestamp more than 5 minutes off.",
        "404": "No spa has this referral address (email) or number (text).",
        "405": "Only POST is answered.",
        "409": "This signed request was received before (a replay).",
        "413": "The request is too large (INBOUND_EMAIL_MAX_BYTES for email, 64 KiB for a text).",
        "415": "Not a shape providers send.",
        "503": "This server takes no email (INBOUND_DOMAIN, INBOUND_EMAIL_SECRET) or texts (TWILIO_AUTH_TOKEN) "
        "yet; try again later (Retry-After).",
    }
    return {
        code: {"description": descriptions[code], "content": {"application/json": {"schema": ERROR}}} for code in codes
    }


BINARY = {"type": "string", "format": "binary"}
ACCEPTED = {
    "description": "The drafts made: one per spa whose referral address the message was sent to.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InboundEmailAccepted"}}},
}

EMAIL = {
    "post": {
        "operationId": "inbound_email_receive",
        "summary": "Receive a referral by email (a provider's inbound-parse webhook)",
        "description": (
            "The raw message (RFC 5322 / MIME), signed: `X-Inbound-Signature: sha256=<hex>` where hex is "
            "HMAC-SHA256(INBOUND_EMAIL_SECRET, `<X-Inbound-Timestamp>.<body>`) over the exact body bytes. The "
            "recipients (`<spa-slug>@<INBOUND_DOMAIN>`; the form's `envelope`/`recipient` for a Bcc) choose the "
            "spas; each gets a draft to confirm, never a referral. The same Message-ID again creates nothing (200)."
        ),
        "tags": ["inbound"],
        "security": [{"InboundEmailSignature": []}],
        "parameters": [
            {
                "name": "X-Inbound-Timestamp",
                "in": "header",
                "required": True,
                "description": "Unix time of signing; refused when more than 300 seconds from the server's clock.",
                "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"},
            }
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": BINARY},
                "message/rfc822": {"schema": BINARY},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "email": {**BINARY, "description": "The raw message (SendGrid's raw mode)."},
                            "envelope": {"type": "string", "description": 'JSON: {"to": ["…"], "from": "…"}'},
                        },
                        "required": ["email"],
                    }
                },
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "body-mime": {"type": "string", "description": "The raw message (Mailgun)."},
                            "recipient": {"type": "string"},
                        },
                        "required": ["body-mime"],
                    }
                },
            },
        },
        "responses": {
            "201": ACCEPTED,
            "200": {**ACCEPTED, "description": "Received before (same Message-ID): nothing new was made."},
            **_errors("400", "403", "404", "405", "409", "413", "415", "503"),
        },
    }
}

SMS = {
    "post": {
        "operationId": "inbound_sms_receive",
        "summary": "Receive a referral by text message (Twilio's inbound-message webhook)",
        "description": (
            "Twilio's request, signed with Twilio's scheme (`X-Twilio-Signature`: base64 HMAC-SHA1 of the URL and the "
            "sorted parameters, keyed with TWILIO_AUTH_TOKEN). `To` chooses the spa (its referral text number), "
            "`From` is matched to a practice. The answer thanks the sender and says nothing about the patient; the "
            "same MessageSid again gets the same answer and creates nothing."
        ),
        "tags": ["inbound"],
        "security": [{"TwilioSignature": []}],
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "From": {"type": "string", "example": "+16175550142"},
                            "To": {"type": "string", "example": "+16175550100"},
                            "Body": {"type": "string"},
                            "MessageSid": {"type": "string"},
                            "NumMedia": {"type": "string", "description": "Pictures are noted, not fetched."},
                        },
                        "required": ["From", "To", "MessageSid"],
                    }
                }
            },
        },
        "responses": {
            "200": {
                "description": "TwiML: a short thank-you to the sender.",
                "content": {"text/xml": {"schema": {"type": "string"}}},
            },
            **_errors("400", "403", "404", "405", "413", "415", "503"),
        },
    }
}

SCHEMAS = {
    "InboundError": {
        "type": "object",
        "properties": {"error": {"type": "string", "example": "signature_stale"}, "detail": {"type": "string"}},
        "required": ["error", "detail"],
    },
    "InboundEmailAccepted": {
        "type": "object",
        "properties": {
            "drafts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "spa": {"type": "string", "description": "The spa's slug."},
                        "draft": {"type": "string", "format": "uuid"},
                        "created": {"type": "boolean"},
                    },
                    "required": ["spa", "draft", "created"],
                },
            }
        },
        "required": ["drafts"],
    },
}

SECURITY_SCHEMES = {
    "InboundEmailSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Inbound-Signature",
        "description": "sha256=<hex HMAC-SHA256 of '<X-Inbound-Timestamp>.<body>' with INBOUND_EMAIL_SECRET>.",
    },
    "TwilioSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Twilio-Signature",
        "description": "Twilio's request signature, keyed with the account's auth token.",
    },
}


def inbound_webhooks_schema(result, generator, request, public):
    """drf-spectacular postprocessing hook: add /inbound/email/ and /inbound/sms/ to the document."""
    result.setdefault("paths", {}).update({"/inbound/email/": EMAIL, "/inbound/sms/": SMS})
    components = result.setdefault("components", {})
    components.setdefault("schemas", {}).update(SCHEMAS)
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    return result
