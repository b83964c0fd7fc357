#!/usr/bin/env python
# A tDAR API client as the seed describes it: log in with a POST of the two form fields, read the
# XML result container, then use the session cookie (a requests.Session keeps it) for later calls
# and log out with a POST without parameters. The test replaces the base URL and the protected path.

import sys
import xml.etree.ElementTree as ET

import requests

base_url = "http://core.tdar.org"
protected = "/search/rss"
NS = {"tdar": "http://www.tdar.org/namespace"}

session = requests.Session()
response = session.post(
    f"{base_url}/api/login",
    data={"userLogin.loginUsername": sys.argv[1], "userLogin.loginPassword": sys.argv[2]},
)
root = ET.fromstring(response.content)
print("login", response.status_code, root.find("tdar:statusCode", NS).text)
print("key", root.get("sessionKeyName"), root.get("apiToken"))
print("cookie", session.cookies.get(root.get("sessionKeyName")) == root.get("apiToken"))

call = session.get(f"{base_url}{protected}")
print("call", call.status_code, call.text)

# A wrong password: the container lists the error.
failed = requests.post(
    f"{base_url}/api/login",
    data={"userLogin.loginUsername": sys.argv[1], "userLogin.loginPassword": "wrong password"},
)
errors = [e.text for e in ET.fromstring(failed.content).findall("tdar:errors", NS)]
print("failed", failed.status_code, errors)

logout = session.post(f"{base_url}/api/logout")
print("logout", logout.status_code, ET.fromstring(logout.content).find("tdar:statusCode", NS).text)
print("cookie after logout", root.get("sessionKeyName") in session.cookies)
after = requests.get(f"{base_url}{protected}", cookies={root.get("sessionKeyName"): root.get("apiToken")})
print("after", after.status_code)
