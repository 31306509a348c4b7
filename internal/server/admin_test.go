package server_test

import (
	"net/http"
	"strconv"
	"testing"
)

type bulkUsersResponse struct {
	Users []struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Token    string `json:"token"`
	} `json:"users"`
}

func TestBulkUsers(t *testing.T) {
	ts := newTestServer(t)
	admin, _ := ts.user("admin") // the first account is the server admin
	other, _ := ts.user("other")

	var out bulkUsersResponse
	body := map[string]any{"prefix": "bench", "count": 25, "password": "password123"}
	status, err := admin.Do(ctx(t), http.MethodPost, "/api/v1/admin/users/bulk", body, &out)
	if err != nil || status != http.StatusCreated {
		t.Fatalf("bulk users: %d %v", status, err)
	}
	if len(out.Users) != 25 {
		t.Fatalf("got %d users, want 25", len(out.Users))
	}
	for i, u := range out.Users {
		me, err := admin.WithToken(u.Token).Me(ctx(t))
		if err != nil {
			t.Fatalf("user %d: token does not work: %v", i, err)
		}
		if me.ID != u.ID || me.Username != u.Username || u.Username != "bench"+strconv.Itoa(i) {
			t.Errorf("user %d: got %+v, token of %+v", i, u, me)
		}
	}
	if _, _, err := ts.anon.Login(ctx(t), "bench7", "password123"); err != nil {
		t.Errorf("login with the shared password: %v", err)
	}

	_, err = other.Do(ctx(t), http.MethodPost, "/api/v1/admin/users/bulk", body, nil)
	apiError(t, err, http.StatusForbidden, "forbidden")
	_, err = admin.Do(ctx(t), http.MethodPost, "/api/v1/admin/users/bulk", body, nil)
	apiError(t, err, http.StatusConflict, "username_taken")
	tooMany := map[string]any{"prefix": "many", "count": 10_001, "password": "password123"}
	_, err = admin.Do(ctx(t), http.MethodPost, "/api/v1/admin/users/bulk", tooMany, nil)
	apiError(t, err, http.StatusBadRequest, "validation_failed")
	_, err = ts.anon.Do(ctx(t), http.MethodPost, "/api/v1/admin/users/bulk", body, nil)
	apiError(t, err, http.StatusUnauthorized, "unauthorized")
}
