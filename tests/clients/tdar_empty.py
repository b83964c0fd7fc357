#!/usr/bin/env python
# What a tDAR client sends when it has nothing to send: `requests.post(url, data={})` (no body,
# `Content-Length: 0`, no Content-Type) to the login, and a logout without a session. The test
# replaces the base URL.

import xml.etree.ElementTree as ET

import requests

base_url = "http://core.tdar.org"
NS = {"tdar": "http://www.tdar.org/namespace"}

empty = requests.post(f"{base_url}/api/login", data={})
print("sent", empty.request.headers.get("Content-Length"), empty.request.headers.get("Content-Type"))
errors = [e.text for e in ET.fromstring(empty.content).findall("tdar:errors", NS)]
print("empty", empty.status_code, errors)

logout = requests.post(f"{base_url}/api/logout", data={})
print("logout", logout.status_code, repr(logout.content))
