const currency = document.querySelector("script[data-currency]")?.dataset.currency ?? "EUR";
export function total(prices) {
  return prices.reduce((sum, price) => sum + Number(price), 0).toFixed(2) + " " + currency;
}
const prices = [...document.querySelectorAll(".price")].map((el) => el.textContent);
console.log("cart total", total(prices));
