# The Meldeschein seed document's "Requesting a token" example, verbatim but for the server
# address (<API_URL>, set by the test).
# pip3 install requests
import requests
payload = {
    'username':'demo',
    'password':'demo',
}
r = requests.post('https://<API_URL>/api/token/',data=payload)
server_response_json = r.json()
jwt_token = server_response_json.get('token')
# From the server_response object extract the string value from “token”
print(jwt_token) #<str>: eJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9...
