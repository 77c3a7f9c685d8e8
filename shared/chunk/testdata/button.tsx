import React from "react";

type Props = { label: string; onClick: () => void };

// Button is a clickable label.
export const Button = ({ label, onClick }: Props) => {
  return <button onClick={onClick}>{label}</button>;
};

export default function App() {
  return <Button label="Hi" onClick={() => alert("hi")} />;
}
