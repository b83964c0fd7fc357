#!/usr/bin/env python
# The seed's "Using the Authentication Key": no cookies, the apiToken sent as the parameter named
# by sessionKeyName (e.g. http://core.tdar.org/search/rss?token=letMeIn). The test replaces the
# base URL and the protected path.

import sys
import xml.etree.ElementTree as ET

import requests

base_url = "http://core.tdar.org"
protected = "/search/rss"

response = requests.post(
    f"{base_url}/api/login",
    data={"userLogin.loginUsername": sys.argv[1], "userLogin.loginPassword": sys.argv[2]},
)
root = ET.fromstring(response.content)
key_name = root.get("sessionKeyName")
api_token = root.get("apiToken")
print("login", response.status_code)

call = requests.get(f"{base_url}{protected}", params={key_name: api_token})
print("call", call.status_code, call.text)

anonymous = requests.get(f"{base_url}{protected}")
print("anonymous", anonymous.status_code)

logout = requests.post(f"{base_url}/api/logout", params={key_name: api_token})
print("logout", logout.status_code)
after = requests.get(f"{base_url}{protected}", params={key_name: api_token})
print("after", after.status_code)
