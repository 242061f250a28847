/// The text the int8 encoder is calibrated on at load (see ``BertEncoder/Precision/int8``): the
/// f32 encoder runs over these passages once, and each quantised layer's input range per channel
/// is read off its activations.
///
/// Written for this purpose, in the registers a help centre mixes (how-to steps, account and
/// billing prose, an error message, code, release notes, a policy, a question): the ranges only
/// need to be typical of English support text, so none of it comes from any set the encoder's
/// quality is measured on.
enum CalibrationText {
    static let passages: [String] = [
        """
        How do I reset my password? Open the sign-in page and choose "Forgot password". Enter the email \
        address on your account and we will send a link that stays valid for 30 minutes. If the message \
        does not arrive, check your spam folder, make sure the address is spelled correctly, and ask your \
        administrator whether single sign-on is enabled for your organisation: in that case passwords are \
        managed by your identity provider, not by us, and the reset has to happen there.
        """,
        """
        Invoices are issued on the first day of each month for the previous month's usage. Each invoice \
        lists the base fee of your plan, the number of resolved conversations, the price per resolution \
        and any taxes that apply in your country. You can download a PDF copy from Settings > Billing, \
        change the card we charge, or add a purchase-order number that will be printed on future invoices. \
        Refunds for unused seats are credited to the next invoice rather than paid back to the card.
        """,
        """
        Error 429: Too Many Requests. The API limits each key to 600 requests per minute and 20 \
        concurrent connections. When you exceed the limit, the response includes a Retry-After header \
        with the number of seconds to wait. Clients should back off exponentially, add random jitter, \
        and never retry a request that failed validation (status 400 or 422), because the same body \
        will fail again. Batch endpoints accept up to 100 items and count as a single request.
        """,
        """
        To export your data, run the command below from a terminal. It writes one JSON object per line:

            curl -H "Authorization: Bearer $TOKEN" https://api.example.com/v2/export?since=2024-01-01 \\
                 -o export.jsonl

        Each object has an id, created_at (ISO 8601, UTC), author, tags and body fields. Large exports \
        are split into pages; follow the next_cursor value until it is null. Deleted records appear \
        with "deleted": true so that a mirror can remove them too.
        """,
        """
        Release notes, version 4.2. New: dark mode for the agent workspace, keyboard shortcuts for \
        macros, and a CSV import for contacts with up to 50,000 rows. Improved: search now matches \
        partial words and accents, and attachments larger than 25 MB upload in the background. Fixed: \
        a crash when a ticket had more than 1,000 comments; time zones in scheduled reports; the mobile \
        app logging users out after an update. Deprecated: the v1 webhooks, which stop on 30 June.
        """,
        """
        We keep personal data only as long as we need it to provide the service. Conversation \
        transcripts are deleted 24 months after the conversation closes unless your administrator \
        chooses a shorter period. Backups are encrypted at rest and overwritten within 35 days. You can \
        ask for a copy of your data or for its deletion at any time; we answer such requests within one \
        month, and we tell you if a legal obligation requires us to keep some records for longer.
        """,
        """
        My printer shows as offline even though it is switched on and connected to the same Wi-Fi \
        network as my laptop. I already restarted both devices and reinstalled the driver. What else \
        can I try? Answer: print the network configuration page from the printer's menu and compare its \
        IP address with the one your computer has saved. Routers often hand out a new address after a \
        restart; reserve a fixed address for the printer in the router settings to stop it happening.
        """,
        """
        Shipping and returns. Orders placed before 2 p.m. on a working day leave our warehouse the same \
        day; delivery takes two to four days in Europe and up to ten days elsewhere. Items can be returned \
        within 30 days if they are unused and in their original packaging. Start a return from your order \
        history, print the prepaid label, and drop the parcel at any post office. We refund the purchase \
        price within five days of receiving the item; the original shipping cost is not refunded.
        """,
    ]
}
