# The Meldeschein seed document's "Passing a token in the header" example, verbatim but for the
# server address and request path (<API_URL>/<anfrage>, set by the test) and where jwt_token
# comes from (the previous example's output, passed on the command line).
import sys
jwt_token = sys.argv[1]
# pip3 install requests
import requests
payload = {
    # any data
}
# variable jwt_token from previous example
headers = {
    'authorization': 'JWT %s' % jwt_token # "JWT eJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9..."
}
#Here the header is passed as well
r = requests.post('https://<API_URL>/<anfrage>/',data=payload,headers=headers)
server_response_json = r.json()
# ...
print(r.status_code)
print(server_response_json)
